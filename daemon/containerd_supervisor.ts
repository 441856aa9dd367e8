/**
 * dockerd's containerd: `--containerd SOCKET` names one to use; otherwise
 * dockerd runs its own under the exec root, as Docker does. A containerd left
 * running by a dockerd that was killed is reused, not replaced, and one that
 * dies while dockerd runs is started again. containerd runs in its own
 * session with its log in a file, so neither a Ctrl-C at dockerd's terminal
 * nor dockerd's death reaches it; containers never depend on either.
 */
import type { DaemonConfig } from "./config.ts";
import type { Logger } from "./engine.ts";
import { selfCommand } from "../runtime/self_exec.ts";
import { pidAlive } from "../runtime/linux/proc.ts";
import { cloexecFrom } from "../runtime/linux/libc.ts";

export interface ContainerdHandle {
  address: string;
  /** True when dockerd manages it (started it or reused the one it had started). */
  managed: boolean;
  /** Stops a managed containerd (at dockerd's shutdown); containers keep running. */
  stop(): Promise<void>;
}

async function answers(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Containers per shim for dockerd's own containerd. */
const SHIM_GROUP = 8;

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export async function ensureContainerd(
  config: DaemonConfig,
  log: Logger,
): Promise<ContainerdHandle> {
  if (config.containerd) {
    if (!(await answers(config.containerd))) {
      throw new Error(`containerd is not answering on ${config.containerd}`);
    }
    return { address: config.containerd, managed: false, stop: async () => {} };
  }
  const dir = `${config.execRoot}/containerd`;
  const address = `${dir}/containerd.sock`;
  const pidFile = `${dir}/containerd.pid`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });

  const readPid = () => {
    try {
      return Number(Deno.readTextFileSync(pidFile).trim()) || 0;
    } catch {
      return 0;
    }
  };

  const start = async () => {
    // Containers share shims (up to SHIM_GROUP per shim): no shim start-up per container, and
    // a fraction of a shim's memory each (see the README's containerd figures).
    const configPath = `${dir}/config.toml`;
    Deno.writeTextFileSync(configPath, `version = 2\n[berth]\nshim_group_size = ${SHIM_GROUP}\n`);
    const { command, args } = selfCommand("containerd", [
      "--config",
      configPath,
      "--address",
      address,
      "--root",
      `${config.dataRoot}/containerd`,
      "--state",
      dir,
      "--log-level",
      config.logLevel === "fatal" ? "error" : config.logLevel,
    ]);
    // sh opens the log and execs setsid, which execs containerd: one pid throughout.
    const script = `exec setsid ${[command, ...args].map(shellQuote).join(" ")} >>${
      shellQuote(`${dir}/containerd.log`)
    } 2>&1 </dev/null`;
    // Our listening sockets (node:net makes them inheritable) stay out of containerd.
    cloexecFrom(3);
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    Deno.writeTextFileSync(pidFile, `${child.pid}\n`);
    const deadline = Date.now() + 30_000;
    while (!(await answers(address))) {
      if (!pidAlive(child.pid)) {
        throw new Error(`containerd exited while starting; see ${dir}/containerd.log`);
      }
      if (Date.now() > deadline) throw new Error(`containerd did not start within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    log.info(`started containerd (pid ${child.pid}) on ${address}`);
  };

  if (await answers(address)) {
    log.info(`using the running containerd on ${address} (pid ${readPid() || "unknown"})`);
  } else {
    await start();
  }

  let stopping = false;
  // Restart a containerd that died under us.
  const watch = setInterval(async () => {
    if (stopping || await answers(address)) return;
    const pid = readPid();
    if (pid && pidAlive(pid)) return; // busy, not dead
    log.warn("containerd is gone: starting it again");
    await start().catch((e) => log.error(`containerd restart failed: ${e.message}`));
  }, 2000);

  return {
    address,
    managed: true,
    stop: async () => {
      stopping = true;
      clearInterval(watch);
      const pid = readPid();
      if (!pid || !pidAlive(pid)) return;
      Deno.kill(pid, "SIGTERM");
      const deadline = Date.now() + 10_000;
      while (pidAlive(pid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      if (pidAlive(pid)) Deno.kill(pid, "SIGKILL");
    },
  };
}

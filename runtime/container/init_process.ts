/**
 * The runtime's side of starting an init (for create) or an exec'd process:
 * enter the namespaces, spawn this program as "init", put it in the cgroup,
 * then walk it through the sync protocol of {@link Channel}.
 */
import type { Namespace, NamespaceType, Spec, State } from "../spec/types.ts";
import type { InitConfig } from "./init.ts";
import { Channel, ChannelClosed } from "./channel.ts";
import { enterNamespaces } from "./namespaces.ts";
import { selfCommand } from "../self_exec.ts";
import { writeFileAtomic } from "./state.ts";
import { listenUnixSocket } from "../linux/unix_socket.ts";

export interface InitStart {
  cfg: InitConfig;
  /** Where the init config and the sync socket are written. */
  workDir: string;
  namespaces: Namespace[];
  /** exec: namespaces the runtime must not enter (the init joins them). */
  skip?: NamespaceType[];
  /**
   * The init's stdio: the runtime's own ("inherit"), none ("null": with a
   * terminal the caller may be waiting for EOF on pipes it gave the runtime),
   * or pipes the caller reads and writes through the child ("piped": a shim
   * that runs the runtime in-process).
   */
  stdio: InitStdio;
  /** Puts the new pid in the container's cgroup before the init goes on. */
  placeInCgroup: (pid: number) => void;
  /** Runs prestart and createRuntime hooks (create only). */
  runtimeHooks?: (state: State) => Promise<void>;
  stateFor: (pid: number) => State;
}

export type InitStdio = Record<"stdin" | "stdout" | "stderr", "inherit" | "null" | "piped">;

/** The same choice for all three streams. */
export function stdioFor(mode: "inherit" | "null" | "piped"): InitStdio {
  return { stdin: mode, stdout: mode, stderr: mode };
}

export interface StartedInit {
  child: Deno.ChildProcess;
  pid: number;
}

/** Starts the init and returns once it is ready (created, or about to exec). */
export async function startInit(opts: InitStart): Promise<StartedInit> {
  const { cfg, workDir } = opts;
  const cfgPath = `${workDir}/init-${cfg.mode}-${crypto.randomUUID().slice(0, 8)}.json`;
  writeFileAtomic(cfgPath, JSON.stringify(cfg));
  const listener = listenUnixSocket(cfg.syncSocket);
  let child: Deno.ChildProcess | undefined;
  try {
    const saved = enterNamespaces(opts.namespaces, {
      skip: opts.skip,
      readonlyExe: true,
      rootPropagationShared: /shared/.test(cfg.spec.linux?.rootfsPropagation ?? ""),
    });
    try {
      const { command, args } = selfCommand("init", [cfgPath]);
      child = new Deno.Command(command, { args, ...opts.stdio, cwd: "/" }).spawn();
    } finally {
      saved.restore();
    }
    const pid = child.pid;
    // Joining cgroups costs ~10 ms on cgroup v1 (an RCU grace period): done
    // while the init starts up, which it does before waiting for "go".
    opts.placeInCgroup(pid);
    const conn = await acceptOrExit(listener, child);
    const chan = new Channel(conn);
    try {
      await chan.send({ type: "go" });
      if (cfg.mode === "create") {
        await chan.expect("hooks");
        const state = opts.stateFor(pid);
        await opts.runtimeHooks?.(state);
        await chan.send({ type: "resume", state });
      }
      await chan.expect("ready");
    } finally {
      chan.close();
    }
    return { child, pid };
  } catch (e) {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    }
    if (e instanceof ChannelClosed) throw new Error(`${e.message} (see the runtime's stderr)`);
    throw e;
  } finally {
    listener.close();
    for (const p of [cfgPath, cfg.syncSocket]) {
      try {
        Deno.removeSync(p);
      } catch { /* gone */ }
    }
  }
}

/** Accepts the init's connection, or fails if the init dies first. */
async function acceptOrExit(
  listener: Deno.UnixListener,
  child: Deno.ChildProcess,
): Promise<Deno.Conn> {
  const exited = child.status.then((s) => {
    throw new Error(`the init process exited early with code ${s.code}`);
  });
  exited.catch(() => {}); // after a successful accept the init's exit is someone else's business
  return await Promise.race([listener.accept(), exited]);
}

/** The config for an exec'd process: the container's, with this process. */
export function execSpec(container: Spec, process: NonNullable<Spec["process"]>): Spec {
  return { ...container, process, hooks: undefined, mounts: undefined };
}

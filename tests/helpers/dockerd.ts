/**
 * A berth dockerd for tests: started as a subprocess on a temporary socket,
 * data root and exec root, driven by the real Docker CLI (on PATH) or by
 * fetch over the unix socket. Always stopped and removed by `close()`.
 */
import { REPO } from "./runtime.ts";
import { removeTestCgroupParents, TEST_CGROUP_PARENT } from "./leaks.ts";

export interface Dockerd {
  dir: string;
  socket: string;
  host: string;
  child: Deno.ChildProcess;
  /** The real Docker CLI against this daemon. */
  docker(args: string[], opts?: { stdin?: string }): Promise<CliResult>;
  /** An HTTP request over the unix socket. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** The daemon's stderr so far. */
  log(): string;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  close(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const td = new TextDecoder();

export function dockerdArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", `${REPO}/main.ts`, "dockerd", ...args];
}

/** Starts dockerd with `extraArgs` and waits until /_ping answers. */
export async function startDockerd(
  opts: { extraArgs?: string[]; dir?: string; busybox?: boolean } = {},
): Promise<Dockerd> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
  // The busybox test image as busybox:latest, loaded before the daemon starts.
  if (opts.busybox) {
    const { seedBusybox } = await import("./busybox_image.ts");
    await seedBusybox(`${dir}/data`);
  }
  const socket = `${dir}/docker.sock`;
  const logPath = `${dir}/dockerd.log`;
  const logFile = await Deno.open(logPath, { write: true, create: true, append: true });
  const [cmd, ...args] = dockerdArgv([
    "-H",
    `unix://${socket}`,
    "--data-root",
    `${dir}/data`,
    "--exec-root",
    `${dir}/exec`,
    "--config-file",
    `${dir}/daemon.json`,
    // The tests' own parent cgroup, removed when the last test is done with it.
    "--cgroup-parent",
    TEST_CGROUP_PARENT,
    ...(opts.extraArgs ?? []),
  ]);
  if (!existsSync(`${dir}/daemon.json`)) Deno.writeTextFileSync(`${dir}/daemon.json`, "{}\n");
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  pump(child.stdout, logFile);
  pump(child.stderr, logFile);
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  const readLog = () => {
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };
  const request = async (method: string, path: string, body?: unknown) => {
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
    try {
      const res = await fetch(`http://docker${path}`, {
        method,
        client,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? {} : { "content-type": "application/json" },
      });
      const buf = await res.arrayBuffer();
      // A 204 (DELETE /containers/x) or 304 answer cannot be rebuilt with a body.
      const nullBody = method === "HEAD" || [204, 205, 304].includes(res.status);
      return new Response(nullBody ? null : buf, {
        status: res.status,
        headers: res.headers,
      });
    } finally {
      client.close();
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`dockerd exited (${exited.code}) while starting:\n${readLog()}`);
    try {
      if ((await request("GET", "/_ping")).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      throw new Error(`dockerd did not answer /_ping within 30 s:\n${readLog()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    }
    return await child.status;
  };
  return {
    dir,
    socket,
    host: `unix://${socket}`,
    child,
    docker: (a, o) => runDocker(["-H", `unix://${socket}`, ...a], dir, o),
    request,
    log: readLog,
    stop,
    close: async () => {
      // Containers first (they outlive dockerd by design), through the API while it answers.
      if (!exited) {
        try {
          const list = await (await request("GET", "/containers/json?all=1")).json() as {
            Id: string;
          }[];
          for (const c of list) await request("DELETE", `/containers/${c.Id}?force=1`);
        } catch { /* not answering */ }
      }
      await stop();
      await sweep(dir);
      // A dockerd killed with SIGKILL leaves its containerd running: stop that too.
      await killContainerd(dir);
      logFile.close();
      if (!opts.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      removeTestCgroupParents();
    },
  };
}

/** The Docker CLI with its own empty config dir (never the user's ~/.docker). */
export async function runDocker(
  args: string[],
  dir: string,
  opts: { stdin?: string } = {},
): Promise<CliResult> {
  const configDir = `${dir}/docker-config`;
  Deno.mkdirSync(configDir, { recursive: true });
  const child = new Deno.Command("docker", {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DOCKER_CONFIG: configDir },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function pump(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  try {
    for await (const chunk of stream) await file.write(chunk);
  } catch { /* file closed at the end of the test */ }
}

/**
 * Whatever a failed test left under `dir`: processes mentioning it (shims,
 * containers' runtimes) are killed, mounts below it are unmounted.
 */
export async function sweep(dir: string): Promise<void> {
  await new Deno.Command("pkill", { args: ["-9", "-f", dir] }).output().catch(() => {});
  const mounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) => l.split(" ")[4]).filter((m) => m?.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    await new Deno.Command("umount", { args: ["-l", m] }).output().catch(() => {});
  }
}

/** Stops the containerd a test dockerd started under `dir` (if it still runs). */
export async function killContainerd(dir: string): Promise<void> {
  let pid = 0;
  try {
    pid = Number(Deno.readTextFileSync(`${dir}/exec/containerd/containerd.pid`).trim());
  } catch {
    return;
  }
  const alive = () => {
    try {
      return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
    } catch {
      return false;
    }
  };
  if (!pid || !alive()) return;
  Deno.kill(pid, "SIGKILL");
  for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 10));
}

/**
 * Runtime commands that hand their stdio to a container process (`create`,
 * `exec`): the shim gives the runtime pipes (the process inherits them and
 * the shim keeps reading after the runtime exits) or, with a terminal, a
 * console socket on which it receives the pty master. With berth's own
 * runtime in-process, the init is the shim's child and gets the pipes directly.
 */
import { adoptFromRuntime } from "./adopt.ts";
import type { ProcessIO } from "./process_io.ts";
import { markSpawned, startReaping, unmarkSpawned } from "./reaper.ts";
import type { RuntimeCli } from "./runtime_cli.ts";
import type { InitStdio, StartedInit } from "../runtime/container/init_process.ts";
import { cloexecFrom, close } from "../runtime/linux/libc.ts";
import { acceptUnix, connectUnix, listenUnix, recvFd } from "../runtime/linux/fdpass.ts";

export interface SpawnOptions {
  /** Names the pid file and console socket in the bundle (`init`, the exec id). */
  name: string;
  /** The runtime command and its arguments (`--pid-file` and `--console-socket` are added). */
  args: string[];
  /**
   * For `exec`: the runtime runs in the foreground (see adopt.ts) and this is
   * called with the process's exit status. Without it the runtime must exit
   * once the process exists (`create`), leaving it to the shim.
   */
  onExit?: (code: number) => void;
}

/**
 * A console socket that receives one pty master. It lives in a fresh
 * directory under /tmp (as containerd's shim does), not in the bundle: a
 * socket address holds 107 bytes and bundle paths can be longer.
 */
function consoleSocket(): { path: string; master: Promise<number>; close(): void } {
  const dir = Deno.makeTempDirSync({ prefix: "berth-pty" });
  Deno.chmodSync(dir, 0o700);
  const path = `${dir}/pty.sock`;
  const listener = listenUnix(path);
  const master = acceptUnix(listener).then(async (conn) => {
    try {
      return (await recvFd(conn)).fd;
    } finally {
      close(conn);
    }
  });
  master.catch(() => {}); // a runtime that failed never sends one
  return {
    path,
    master,
    close() {
      // Wake a pending accept so nothing waits forever.
      try {
        close(connectUnix(path));
      } catch { /* closed */ }
      close(listener);
      Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** What a process's stdio asks of its spawn: a terminal, and whether stdin is wanted. */
function wants(io: ProcessIO): { terminal: boolean; stdin: boolean } {
  return {
    terminal: Boolean(io.stdio.terminal),
    stdin: Boolean(io.stdio.openStdin || io.stdio.stdin),
  };
}

/** Hands the child's pipes (which the container's process inherits) to `io`. */
function pumpPipes(io: ProcessIO, child: Deno.ChildProcess, stdin: boolean): void {
  io.pumpStream("stdout", child.stdout);
  io.pumpStream("stderr", child.stderr);
  if (stdin) io.setStdin(child.stdin.getWriter());
}

/** Waits until the pid file names a process, or the runtime exits first. */
async function waitForPid(
  pidFile: string,
  runtimeDone: Promise<Deno.CommandStatus>,
): Promise<{ pid: number; exited?: Deno.CommandStatus }> {
  const read = () => {
    try {
      return Number(Deno.readTextFileSync(pidFile).trim()) || 0;
    } catch {
      return 0;
    }
  };
  let exited: Deno.CommandStatus | undefined;
  while (!exited && !read()) {
    exited = await Promise.race([
      runtimeDone,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5)),
    ]);
  }
  return { pid: read(), exited };
}

/** Runs the runtime command for `io`'s process and returns the process's pid. */
export async function spawnWithStdio(
  rt: RuntimeCli,
  io: ProcessIO,
  opts: SpawnOptions,
): Promise<number> {
  const bundle = rt.opts.bundle;
  const { terminal, stdin: wantStdin } = wants(io);
  const cons = terminal ? consoleSocket() : undefined;
  const pidFile = `${bundle}/${opts.name}.pid`;
  try {
    const [command, ...rest] = opts.args;
    const [cmd, ...args] = rt.argv([
      command,
      "--pid-file",
      pidFile,
      ...(cons ? ["--console-socket", cons.path] : []),
      ...rest,
    ]);
    // The shim's sockets stay out of the runtime (and so out of the container's init).
    cloexecFrom(3);
    const child = new Deno.Command(cmd, {
      args,
      stdin: wantStdin && !terminal ? "piped" : "null",
      stdout: terminal ? "null" : "piped",
      stderr: terminal ? "null" : "piped",
      cwd: bundle,
    }).spawn();
    markSpawned(child.pid);
    if (!terminal) pumpPipes(io, child, wantStdin);
    const done = child.status.finally(() => unmarkSpawned(child.pid));
    let failed: number | undefined;
    if (opts.onExit) {
      const onExit = opts.onExit;
      const { pid, exited } = await waitForPid(pidFile, done);
      if (!pid) failed = exited?.code || 1;
      // It ran: the runtime's exit code, if it comes to that, is the process's.
      else if (exited || !(await adoptFromRuntime(child.pid, done, pid, onExit))) {
        done.then((s) => onExit(s.code));
      }
    } else {
      const status = await done;
      if (status.code !== 0) failed = status.code;
    }
    if (failed !== undefined) throw rt.failure(command, failed);
    if (cons) io.pumpMaster(await cons.master);
    io.pumpStdinPath();
    return Number(Deno.readTextFileSync(pidFile).trim());
  } finally {
    cons?.close();
    void io.stdinReady();
  }
}

/**
 * A container's init (`create`) or an exec process started with berth's
 * runtime in-process: the process is the shim's own child, spawned with pipes
 * for its stdio. Returns its pid and its exit code (128 + signal when killed),
 * which the caller may read once it has recorded the pid.
 */
export async function spawnInProcess(
  io: ProcessIO,
  start: (how: {
    consoleSocket?: string;
    stdio: InitStdio;
    onSpawned: (pid: number) => void;
  }) => Promise<StartedInit>,
): Promise<{ pid: number; exit: Promise<number> }> {
  const { terminal, stdin: wantStdin } = wants(io);
  const cons = terminal ? consoleSocket() : undefined;
  try {
    // The shim's sockets stay out of the container's processes.
    cloexecFrom(3);
    const proc = await start({
      consoleSocket: cons?.path,
      stdio: { stdin: wantStdin ? "piped" : "null", stdout: "piped", stderr: "piped" },
      // Deno waits for its own children: the reaper must never take this one.
      onSpawned: markSpawned,
    });
    const { child } = proc;
    // Deno reaps the process; orphans it leaves are the shim's to reap.
    startReaping();
    const exit = child.status.then((s) => {
      unmarkSpawned(child.pid);
      return s.code;
    });
    // Piped stdio always comes with a Deno.ChildProcess (see spawnInit).
    if (!terminal && child instanceof Deno.ChildProcess) pumpPipes(io, child, wantStdin);
    if (cons) io.pumpMaster(await cons.master);
    io.pumpStdinPath();
    return { pid: proc.pid, exit };
  } finally {
    cons?.close();
    void io.stdinReady();
  }
}

/**
 * Running a program with exactly the argv it is given, its stdin fed from a
 * buffer and its output collected: what OCI hooks need. Deno.Command cannot
 * set argv[0], and hooks depend on it: Docker's prestart hook is
 * /proc/<dockerd>/exe with argv[0] "libnetwork-setkey", which is how dockerd
 * knows what it is asked to do. posix_spawn (vfork and exec inside libc) is
 * safe to call from a multi-threaded process such as Deno, where fork is not.
 *
 * Waiting never blocks the caller's event loop: poll runs on Deno's blocking
 * thread pool, over the output pipes and a pidfd that becomes readable when
 * the program exits. Descendants that keep the pipes open are not waited for.
 */
import {
  check,
  close,
  cstr,
  cstrTable,
  decodeWaitStatus,
  Errno,
  errno,
  libc,
  O,
  SYS,
  sys,
  waitpid,
  WNOHANG,
} from "./libc.ts";
import { denoSignalName, parseSignal } from "./signals.ts";

export interface ProgramResult {
  /** Exit code, or 128 + signal like a shell. */
  code: number;
  signal?: number;
  /** The last {@link OUTPUT_LIMIT} bytes of each stream. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ProgramOptions {
  stdin?: Uint8Array;
  /** SIGKILL after this many milliseconds. */
  timeoutMs?: number;
}

/**
 * Pids this module is waiting for. A subreaper that reaps zombies it did not
 * spawn (berth's shim, which runs the runtime in-process) must leave these.
 */
export const awaitedChildren = new Set<number>();

/** How much of each output stream is kept (its end: where errors are). */
export const OUTPUT_LIMIT = 64 * 1024;

const F_GETFL = 3, F_SETFL = 4;
const POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
const POLLIN = 0x1, POLLOUT = 0x4;
const EINTR = 4, EAGAIN = 11;
const SIGKILL = 9;

/** Runs `path` with `argv` (argv[0] included) and exactly `env`, and waits for it. */
export async function runProgram(
  path: string,
  argv: string[],
  env: string[],
  opts: ProgramOptions = {},
): Promise<ProgramResult> {
  const open = new Set<number>();
  try {
    const [inR, inW] = pipe(open);
    const [outR, outW] = pipe(open);
    const [errR, errW] = pipe(open);
    const pid = spawn(path, argv, env, [inR, outW, errW]);
    awaitedChildren.add(pid);
    try {
      for (const fd of [inR, outW, errW]) closeIn(open, fd);
      for (const fd of [inW, outR, errR]) setNonblocking(fd);
      return await waitFor(pid, { inW, outR, errR }, open, opts);
    } catch (e) {
      // Never leave it running (or a zombie) behind an error.
      sys(SYS.kill, pid, SIGKILL);
      waitpid(pid, new Int32Array(1), 0);
      throw e;
    } finally {
      awaitedChildren.delete(pid);
    }
  } finally {
    for (const fd of open) close(fd);
  }
}

/** A child process: what Deno.ChildProcess offers, without its pipes. */
export interface Child {
  readonly pid: number;
  /** Settles once the child has exited and been reaped. */
  readonly status: Promise<Deno.CommandStatus>;
  kill(signal?: Deno.Signal): void;
}

export interface ChildOptions {
  /** Each of stdin, stdout, stderr: this process's own, or /dev/null. */
  stdio: Record<"stdin" | "stdout" | "stderr", "inherit" | "null">;
  cwd?: string;
  /**
   * Put every signal back to its default action and unblock them all in the
   * child (default true). A child that does so itself can skip it.
   */
  resetSignals?: boolean;
}

/**
 * Starts `path` with `argv` (argv[0] included) and `env`, with posix_spawn.
 * Cheaper than Deno.Command, whose first use in a process costs about 3 ms:
 * the runtime spawns each container's init this way, on the path of every
 * `create`. Waiting (when `status` is first read) polls a pidfd on Deno's
 * blocking thread pool, as {@link runProgram} does.
 */
export function spawnChild(path: string, argv: string[], env: string[], opts: ChildOptions): Child {
  const stdio = (["stdin", "stdout", "stderr"] as const).map((s) =>
    opts.stdio[s] === "null" ? "null" as const : undefined
  );
  const pid = spawn(path, argv, env, stdio, opts);
  awaitedChildren.add(pid);
  return new SpawnedChild(pid);
}

class SpawnedChild implements Child {
  #status?: Promise<Deno.CommandStatus>;
  #pidfd: number;
  #reaped = false;

  constructor(readonly pid: number) {
    this.#pidfd = Number(sys(SYS.pidfd_open, pid, 0));
  }

  get status(): Promise<Deno.CommandStatus> {
    return this.#status ??= this.#wait();
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#reaped) throw new TypeError("Child process has already terminated");
    const signo = parseSignal(signal);
    // Through the pidfd where there is one: never a process that reused the pid.
    const r = this.#pidfd >= 0
      ? Number(sys(SYS.pidfd_send_signal, this.#pidfd, signo, null, 0))
      : Number(sys(SYS.kill, this.pid, signo));
    if (r < 0) throw new Errno("kill", errno(), String(this.pid));
  }

  async #wait(): Promise<Deno.CommandStatus> {
    const c = libc();
    const status = new Int32Array(1);
    const pollfd = this.#pidfd >= 0 ? pollfds([[this.#pidfd, POLLIN]]) : new Uint8Array(8);
    try {
      for (;;) {
        const r = waitpid(this.pid, status, WNOHANG);
        if (r === this.pid) break;
        if (r < 0 && errno() !== EINTR) {
          throw new Errno("waitpid", errno(), `child ${this.pid}`);
        }
        // Without a pidfd, poll is a 10 ms sleep between tries.
        await c.pollBlocking(pollfd, this.#pidfd >= 0 ? 1n : 0n, this.#pidfd >= 0 ? 1000 : 10);
      }
    } finally {
      this.#reaped = true;
      awaitedChildren.delete(this.pid);
      if (this.#pidfd >= 0) close(this.#pidfd);
    }
    const { code, signal } = decodeWaitStatus(status[0]);
    return {
      success: code === 0,
      code,
      signal: signal === undefined ? null : denoSignalName(signal) ?? null,
    };
  }
}

/** Feeds stdin, collects the output, and reaps `pid` (killed at the deadline). */
async function waitFor(
  pid: number,
  { inW, outR, errR }: { inW: number; outR: number; errR: number },
  open: Set<number>,
  opts: ProgramOptions,
): Promise<ProgramResult> {
  const c = libc();
  const pidfd = Number(sys(SYS.pidfd_open, pid, 0));
  if (pidfd >= 0) open.add(pidfd);
  const stdin = opts.stdin ?? new Uint8Array();
  let written = 0;
  const out = new Output(), err = new Output();
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let timedOut = false;
  const status = new Int32Array(1);
  for (;;) {
    if (open.has(inW)) {
      written = feed(inW, stdin, written);
      if (written >= stdin.length) closeIn(open, inW);
    }
    if (open.has(outR) && !out.drain(outR)) closeIn(open, outR);
    if (open.has(errR) && !err.drain(errR)) closeIn(open, errR);
    const r = waitpid(pid, status, WNOHANG);
    if (r === -1 && errno() !== EINTR) throw new Errno("waitpid", errno(), String(pid));
    if (r === pid) {
      // What it wrote before exiting is in the pipes now.
      if (open.has(outR)) out.drain(outR);
      if (open.has(errR)) err.drain(errR);
      const { code, signal } = decodeWaitStatus(status[0]);
      return { code, signal, stdout: out.text(), stderr: err.text(), timedOut };
    }
    if (!timedOut && Date.now() >= deadline) {
      timedOut = true;
      sys(SYS.kill, pid, SIGKILL);
    }
    const watched: [number, number][] = [];
    if (open.has(outR)) watched.push([outR, POLLIN]);
    if (open.has(errR)) watched.push([errR, POLLIN]);
    if (open.has(inW)) watched.push([inW, POLLOUT]);
    if (pidfd >= 0) watched.push([pidfd, POLLIN]);
    // Without a pidfd, an exit that leaves the pipes open is noticed by the next round.
    const left = timedOut ? Infinity : deadline - Date.now();
    const wait = Math.max(0, Math.min(pidfd >= 0 ? 1000 : 10, left));
    await c.pollBlocking(pollfds(watched), BigInt(watched.length), wait);
  }
}

function closeIn(open: Set<number>, fd: number): void {
  if (open.delete(fd)) close(fd);
}

function pipe(open: Set<number>): [number, number] {
  const pair = new Int32Array(2);
  check(libc().pipe2(new Uint8Array(pair.buffer), O.CLOEXEC), "pipe2");
  open.add(pair[0]);
  open.add(pair[1]);
  return [pair[0], pair[1]];
}

function setNonblocking(fd: number): void {
  const flags = check(libc().fcntl(fd, F_GETFL, 0n), "fcntl", String(fd));
  check(libc().fcntl(fd, F_SETFL, BigInt(flags | O.NONBLOCK)), "fcntl", String(fd));
}

/**
 * posix_spawn with each of fds 0-2 on the given fd, on /dev/null ("null") or
 * left as it is (undefined); by default every signal at its default action
 * and none blocked. Only what is asked for is set up: each libc function
 * bound costs about 0.1 ms (see libc.ts).
 */
function spawn(
  path: string,
  argv: string[],
  env: string[],
  stdio: (number | "null" | undefined)[],
  opts: { cwd?: string; resetSignals?: boolean } = {},
): number {
  const c = libc();
  let actions: Uint8Array | null = null; // posix_spawn_file_actions_t: 80 bytes in glibc
  let attr: Uint8Array | null = null; // posix_spawnattr_t: 336 bytes in glibc
  const keep: Uint8Array[] = [];
  try {
    if (opts.cwd !== undefined || stdio.some((s) => s !== undefined)) {
      const a = new Uint8Array(256);
      spawnCheck(c.posix_spawn_file_actions_init(a), "posix_spawn_file_actions_init");
      actions = a;
      stdio.forEach((fd, target) => {
        if (fd === "null") {
          const devNull = cstr("/dev/null");
          keep.push(devNull);
          spawnCheck(
            c.posix_spawn_file_actions_addopen(a, target, devNull, O.RDWR, 0),
            "addopen",
          );
        } else if (fd !== undefined) {
          spawnCheck(c.posix_spawn_file_actions_adddup2(a, fd, target), "adddup2");
        }
      });
      if (opts.cwd !== undefined) {
        const cwd = cstr(opts.cwd);
        keep.push(cwd);
        spawnCheck(c.posix_spawn_file_actions_addchdir_np(a, cwd), "addchdir", opts.cwd);
      }
    }
    if (opts.resetSignals ?? true) {
      const a = new Uint8Array(512);
      spawnCheck(c.posix_spawnattr_init(a), "posix_spawnattr_init");
      attr = a;
      const everySignal = new Uint8Array(128).fill(0xff); // sigset_t
      spawnCheck(c.posix_spawnattr_setsigdefault(a, everySignal), "setsigdefault");
      spawnCheck(c.posix_spawnattr_setsigmask(a, new Uint8Array(128)), "setsigmask");
      spawnCheck(
        c.posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
        "setflags",
      );
    }
    const pid = new Int32Array(1);
    spawnCheck(
      c.posix_spawn(
        new Uint8Array(pid.buffer),
        cstr(path),
        actions,
        attr,
        cstrTable(argv, keep),
        cstrTable(env, keep),
      ),
      "posix_spawn",
      path,
    );
    return pid[0];
  } finally {
    if (attr) c.posix_spawnattr_destroy(attr);
    if (actions) c.posix_spawn_file_actions_destroy(actions);
  }
}

/** The posix_spawn family returns an error number rather than setting errno. */
function spawnCheck(rc: number, call: string, detail = ""): void {
  if (rc !== 0) throw new Errno(call, rc, detail);
}

/** Writes what the pipe takes now; returns the new offset (all of it when the reader is gone). */
function feed(fd: number, data: Uint8Array, offset: number): number {
  while (offset < data.length) {
    const n = Number(libc().write(fd, data.subarray(offset), BigInt(data.length - offset)));
    if (n >= 0) {
      offset += n;
      continue;
    }
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return offset;
    return data.length; // EPIPE: the program does not read its stdin
  }
  return offset;
}

/** struct pollfd[] (int fd; short events; short revents). */
function pollfds(watched: [number, number][]): Uint8Array<ArrayBuffer> {
  const buf = new DataView(new ArrayBuffer(8 * watched.length));
  watched.forEach(([fd, events], i) => {
    buf.setInt32(8 * i, fd, true);
    buf.setInt16(8 * i + 4, events, true);
  });
  return new Uint8Array(buf.buffer);
}

/** One output stream's tail. */
class Output {
  #chunks: Uint8Array[] = [];
  #size = 0;
  static #buf = new Uint8Array(65536);

  /** Reads what is there; false at end of file or on an error. */
  drain(fd: number): boolean {
    for (;;) {
      const n = Number(libc().read(fd, Output.#buf, BigInt(Output.#buf.length)));
      if (n > 0) {
        this.#chunks.push(Output.#buf.slice(0, n));
        this.#size += n;
        while (this.#size - this.#chunks[0].length >= OUTPUT_LIMIT) {
          this.#size -= this.#chunks.shift()!.length;
        }
        continue;
      }
      if (n === 0) return false;
      const e = errno();
      if (e === EINTR) continue;
      return e === EAGAIN;
    }
  }

  text(): string {
    const all = new Uint8Array(this.#size);
    let off = 0;
    for (const c of this.#chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder().decode(all.subarray(Math.max(0, all.length - OUTPUT_LIMIT)));
  }
}

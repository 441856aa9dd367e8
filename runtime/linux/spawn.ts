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
  WNOHANG,
} from "./libc.ts";

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
const SYS_PIDFD_OPEN = 434; // the same on x86_64 and aarch64
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
      libc().kill(pid, SIGKILL);
      libc().waitpid(pid, new Uint8Array(4), 0);
      throw e;
    } finally {
      awaitedChildren.delete(pid);
    }
  } finally {
    for (const fd of open) close(fd);
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
  const pidfd = Number(c.syscall(BigInt(SYS_PIDFD_OPEN), BigInt(pid), 0n, 0n, 0n));
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
    const r = c.waitpid(pid, new Uint8Array(status.buffer), WNOHANG);
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
      c.kill(pid, SIGKILL);
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

/** posix_spawn with stdio on the given fds, every signal at its default and none blocked. */
function spawn(path: string, argv: string[], env: string[], stdio: number[]): number {
  const c = libc();
  const actions = new Uint8Array(256); // posix_spawn_file_actions_t: 80 bytes in glibc
  const attr = new Uint8Array(512); // posix_spawnattr_t: 336 bytes in glibc
  spawnCheck(c.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
  try {
    spawnCheck(c.posix_spawnattr_init(attr), "posix_spawnattr_init");
    try {
      stdio.forEach((fd, target) =>
        spawnCheck(c.posix_spawn_file_actions_adddup2(actions, fd, target), "adddup2")
      );
      const everySignal = new Uint8Array(128).fill(0xff); // sigset_t
      spawnCheck(c.posix_spawnattr_setsigdefault(attr, everySignal), "setsigdefault");
      spawnCheck(c.posix_spawnattr_setsigmask(attr, new Uint8Array(128)), "setsigmask");
      spawnCheck(
        c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
        "setflags",
      );
      const keep: Uint8Array[] = [];
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
      c.posix_spawnattr_destroy(attr);
    }
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
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

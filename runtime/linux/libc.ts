/**
 * The one place where berth calls libc through Deno's FFI. Every role that
 * needs a system call Deno does not offer (namespaces, mounts, credentials,
 * ptys, fd passing) goes through the thin wrappers here, which turn a -1
 * return into an {@link Errno} error that names the call and its argument.
 *
 * Only x86_64 and aarch64 Linux are supported; syscall numbers that differ
 * are in {@link SYS}.
 */

const symbols = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  // syscall(number, six arguments): see sys().
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readBlocking: {
    name: "read",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  writeBlocking: {
    name: "write",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "i64"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  acceptBlocking: {
    name: "accept4",
    parameters: ["i32", "buffer", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  recvmsgBlocking: {
    name: "recvmsg",
    parameters: ["i32", "buffer", "i32"],
    result: "isize",
    nonblocking: true,
  },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  syncfs: { parameters: ["i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  pollBlocking: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
type SymbolName = keyof typeof symbols;

const bound: Partial<Record<SymbolName, unknown>> = {};

/**
 * The libc symbols, each bound on first use: binding costs 0.1-0.3 ms per
 * symbol (Deno compiles a call trampoline for each), and every role start
 * (the init's above all) pays only for the calls it makes. The kernel calls
 * on the runtime's paths all go through one of them, syscall: see sys().
 */
const lazy = new Proxy({} as Symbols, {
  get(_target, name: string) {
    const key = name as SymbolName;
    return bound[key] ??=
      Deno.dlopen("libc.so.6", { [key]: symbols[key] } as Pick<typeof symbols, SymbolName>)
        .symbols[key];
  },
});

export function libc(): Symbols {
  return lazy;
}

const encoder = new TextEncoder();

/** A NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  28: "ENOSPC",
  30: "EROFS",
  32: "EPIPE",
  38: "ENOSYS",
  40: "ELOOP",
  61: "ENODATA",
  95: "EOPNOTSUPP",
  111: "ECONNREFUSED",
};

/** A failed system call: the call, what it was given, and errno. */
export class Errno extends Error {
  constructor(readonly call: string, readonly code: number, detail = "") {
    const text = Deno.UnsafePointerView.getCString(libc().strerror(code)!);
    super(
      `${call}${detail ? ` ${detail}` : ""}: ${text} (${ERRNO_NAMES[code] ?? `errno ${code}`})`,
    );
    this.name = "Errno";
  }
}

/** Throws {@link Errno} when a call returned -1; returns the result otherwise. */
export function check<T extends number | bigint>(result: T, call: string, detail = ""): T {
  if (result === -1 || result === -1n) throw new Errno(call, errno(), detail);
  return result;
}

/** System call numbers: x86_64's own table, and aarch64's (the kernel's generic one). */
export const SYS = Deno.build.arch === "x86_64"
  ? {
    read: 0,
    write: 1,
    close: 3,
    rt_sigaction: 13,
    rt_sigprocmask: 14,
    ioctl: 16,
    getpid: 39,
    execve: 59,
    wait4: 61,
    kill: 62,
    fcntl: 72,
    chdir: 80,
    fchdir: 81,
    umask: 95,
    setsid: 112,
    setgroups: 116,
    setresuid: 117,
    setresgid: 119,
    capget: 125,
    capset: 126,
    statfs: 137,
    pivot_root: 155,
    prctl: 157,
    chroot: 161,
    mount: 165,
    umount2: 166,
    sethostname: 170,
    setdomainname: 171,
    openat: 257,
    mknodat: 259,
    unshare: 272,
    dup3: 292,
    pipe2: 293,
    prlimit64: 302,
    setns: 308,
    bpf: 321,
    pidfd_send_signal: 424,
    pidfd_open: 434,
    close_range: 436,
  }
  : {
    read: 63,
    write: 64,
    close: 57,
    rt_sigaction: 134,
    rt_sigprocmask: 135,
    ioctl: 29,
    getpid: 172,
    execve: 221,
    wait4: 260,
    kill: 129,
    fcntl: 25,
    chdir: 49,
    fchdir: 50,
    umask: 166,
    setsid: 157,
    setgroups: 159,
    setresuid: 147,
    setresgid: 149,
    capget: 90,
    capset: 91,
    statfs: 43,
    pivot_root: 41,
    prctl: 167,
    chroot: 51,
    mount: 40,
    umount2: 39,
    sethostname: 161,
    setdomainname: 162,
    openat: 56,
    mknodat: 33,
    unshare: 97,
    dup3: 24,
    pipe2: 59,
    prlimit64: 261,
    setns: 268,
    bpf: 280,
    pidfd_send_signal: 424,
    pidfd_open: 434,
    close_range: 436,
  };

/** An argument of {@link sys}: an integer, a buffer (passed by its address) or null. */
export type SysArg = number | bigint | ArrayBufferView | null;

/**
 * A system call through libc's syscall(): the kernel's result, or -1 with
 * errno set. berth's kernel calls go through here rather than through libc's
 * wrapper of each: every distinct FFI symbol costs a process 0.1-0.3 ms the
 * first time it is used, and the runtime's processes (the CLI, the init)
 * start for every container. One difference with glibc: calls that change
 * credentials (setresuid, setgroups, ...) change the calling thread only,
 * where glibc changes every thread; the init calls them on the thread that
 * then executes the user's process, which is the one that counts.
 * Buffers are passed by address: they stay referenced by `args` for the call.
 */
export function sys(nr: number, ...args: SysArg[]): bigint {
  const a = [0n, 0n, 0n, 0n, 0n, 0n];
  args.forEach((v, i) => {
    a[i] = v === null
      ? 0n
      : typeof v === "bigint"
      ? v
      : typeof v === "number"
      ? BigInt(v)
      : ptrValue(v);
  });
  return libc().syscall(BigInt(nr), a[0], a[1], a[2], a[3], a[4], a[5]);
}

/** {@link sys} as a number, -1 turned into an {@link Errno}. */
function sysCheck(call: string, detail: string, nr: number, ...args: SysArg[]): number {
  return Number(check(sys(nr, ...args), call, detail));
}

// ---- namespaces -------------------------------------------------------------

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  FS: 0x00000200,
  FILES: 0x00000400,
} as const;

export function unshare(flags: number): void {
  sysCheck("unshare", `0x${flags.toString(16)}`, SYS.unshare, flags);
}

export function setns(fd: number, nstype: number, what = ""): void {
  sysCheck("setns", what, SYS.setns, fd, nstype);
}

// ---- mounts ------------------------------------------------------------------

/**
 * The per-mount flags of the mount holding `path` (statfs f_flags) as MS_*
 * flags that a bind remount must repeat: a remount replaces them all, and the
 * kernel refuses to clear locked ones.
 */
export function mountFlagsOf(path: string): number {
  const buf = new BigUint64Array(15); // struct statfs: f_flags is the 11th word on x86_64 and aarch64
  sysCheck("statfs", path, SYS.statfs, cstr(path), buf);
  const st = Number(buf[10]);
  const ST = {
    RDONLY: 1,
    NOSUID: 2,
    NODEV: 4,
    NOEXEC: 8,
    NOATIME: 1024,
    NODIRATIME: 2048,
    RELATIME: 4096,
  };
  let flags = 0;
  if (st & ST.RDONLY) flags |= MS.RDONLY;
  if (st & ST.NOSUID) flags |= MS.NOSUID;
  if (st & ST.NODEV) flags |= MS.NODEV;
  if (st & ST.NOEXEC) flags |= MS.NOEXEC;
  if (st & ST.NOATIME) flags |= MS.NOATIME;
  if (st & ST.NODIRATIME) flags |= MS.NODIRATIME;
  if (st & ST.RELATIME) flags |= MS.RELATIME;
  return flags;
}

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  POSIXACL: 1 << 16,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MNT_DETACH = 2;

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  sysCheck(
    "mount",
    `${source ?? "none"} on ${target}${fstype ? ` (${fstype})` : ""}`,
    SYS.mount,
    source === null ? null : cstr(source),
    cstr(target),
    fstype === null ? null : cstr(fstype),
    flags,
    data === null || data === "" ? null : cstr(data),
  );
}

export function umount2(target: string, flags: number): void {
  sysCheck("umount2", target, SYS.umount2, cstr(target), flags);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  sysCheck("pivot_root", newRoot, SYS.pivot_root, cstr(newRoot), cstr(putOld));
}

export function chdir(path: string): void {
  sysCheck("chdir", path, SYS.chdir, cstr(path));
}

export function fchdir(fd: number, what: string): void {
  sysCheck("fchdir", what, SYS.fchdir, fd);
}

export function chroot(path: string): void {
  sysCheck("chroot", path, SYS.chroot, cstr(path));
}

/** A dev_t (FileInfo.rdev) split into major and minor, as glibc's major() and minor(). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  return {
    major: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)),
    minor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)),
  };
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  // glibc's makedev() encoding.
  const dev = (BigInt(major & 0xfffff000) << 32n) | (BigInt(major & 0xfff) << 8n) |
    (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff);
  sysCheck("mknod", path, SYS.mknodat, AT_FDCWD, cstr(path), mode, dev);
}

/** chown() that does not follow a final symlink. */
export function lchown(path: string, uid: number, gid: number): void {
  check(libc().lchown(cstr(path), uid, gid), "lchown", path);
}

/** Sets an extended attribute on `path` itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = new Uint8Array(value);
  check(
    Number(libc().lsetxattr(cstr(path), cstr(name), v, BigInt(v.length), 0)),
    "lsetxattr",
    `${path} ${name}`,
  );
}

/** An extended attribute of `path` itself, or null when it has none of that name. */
export function lgetxattr(path: string, name: string): Uint8Array | null {
  const buf = new Uint8Array(65536);
  const n = Number(libc().lgetxattr(cstr(path), cstr(name), buf, BigInt(buf.length)));
  if (n === -1) {
    const e = errno();
    if (e === 61 /* ENODATA */) return null;
    throw new Errno("lgetxattr", e, `${path} ${name}`);
  }
  return buf.slice(0, n);
}

/** The names of the extended attributes of `path` itself. */
export function llistxattr(path: string): string[] {
  const buf = new Uint8Array(65536);
  const n = Number(
    check(libc().llistxattr(cstr(path), buf, BigInt(buf.length)), "llistxattr", path),
  );
  return new TextDecoder().decode(buf.subarray(0, n)).split("\0").filter((s) => s !== "");
}

export const AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;

/**
 * Sets access and modification times (in nanoseconds since the epoch) of
 * `path` itself: a symlink is not followed.
 */
export function lutimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  const ts = new BigInt64Array([
    atimeNs / 1_000_000_000n,
    atimeNs % 1_000_000_000n,
    mtimeNs / 1_000_000_000n,
    mtimeNs % 1_000_000_000n,
  ]);
  check(
    libc().utimensat(AT_FDCWD, cstr(path), new Uint8Array(ts.buffer), AT_SYMLINK_NOFOLLOW),
    "utimensat",
    path,
  );
}

/** Flushes the whole file system that holds `path` to disk. */
export function syncfs(path: string): void {
  const fd = open(path, O.RDONLY | O.CLOEXEC | O.DIRECTORY);
  try {
    check(libc().syncfs(fd), "syncfs", path);
  } finally {
    close(fd);
  }
}

export function mkfifo(path: string, mode: number): void {
  check(libc().mkfifo(cstr(path), mode), "mkfifo", path);
}

export function umask(mask: number): number {
  return Number(sys(SYS.umask, mask));
}

export function sethostname(name: string): void {
  const b = encoder.encode(name);
  sysCheck("sethostname", name, SYS.sethostname, b, b.length);
}

export function setdomainname(name: string): void {
  const b = encoder.encode(name);
  sysCheck("setdomainname", name, SYS.setdomainname, b, b.length);
}

// ---- process attributes -----------------------------------------------------

export const PR = {
  SET_PDEATHSIG: 1,
  GET_DUMPABLE: 3,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  SET_CHILD_SUBREAPER: 36,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

export function prctl(option: number, a: number | bigint = 0, b = 0, c = 0, d = 0): number {
  return sysCheck("prctl", String(option), SYS.prctl, option, a, b, c, d);
}

/** prctl without the error check: its raw result (-1 on failure). */
export function prctlRaw(option: number, a: number | bigint = 0, b = 0, c = 0, d = 0): number {
  return Number(sys(SYS.prctl, option, a, b, c, d));
}

/** The calling thread's user ids (see sys()). */
export function setresuid(uid: number): void {
  sysCheck("setresuid", String(uid), SYS.setresuid, uid, uid, uid);
}

/** The calling thread's group ids (see sys()). */
export function setresgid(gid: number): void {
  sysCheck("setresgid", String(gid), SYS.setresgid, gid, gid, gid);
}

/** The calling thread's supplementary groups (see sys()). */
export function setgroups(gids: number[]): void {
  sysCheck("setgroups", "", SYS.setgroups, gids.length, new Uint32Array(gids));
}

export const RLIMIT: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** Sets a resource limit of `pid` (0: this process). */
export function prlimit(pid: number, resource: number, soft: bigint, hard: bigint): void {
  const buf = new BigUint64Array([soft, hard]);
  sysCheck("prlimit", String(resource), SYS.prlimit64, pid, resource, buf, null);
}

/** Puts every signal back to its default action and unblocks all of them. */
export function resetSignals(): void {
  // struct sigaction for the kernel: handler SIG_DFL, no flags, no restorer, empty mask.
  const act = new BigUint64Array(4);
  for (let sig = 1; sig < 65; sig++) {
    if (sig === 9 || sig === 19) continue; // cannot be changed
    sys(SYS.rt_sigaction, sig, act, null, 8);
  }
  sys(SYS.rt_sigprocmask, 2, /* SIG_SETMASK */ new BigUint64Array(1), null, 8);
}

function ptrValue(buf: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

/**
 * A NULL-terminated array of C strings (argv, envp). The strings are pushed
 * onto `keep`, which must stay reachable until the call that uses the table.
 */
export function cstrTable(items: string[], keep: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const ptrs = new BigUint64Array(items.length + 1);
  items.forEach((s, i) => {
    const c = cstr(s);
    keep.push(c);
    ptrs[i] = ptrValue(c);
  });
  return new Uint8Array(ptrs.buffer);
}

/** Replaces this process with `path`. Returns only by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  const keep: Uint8Array[] = [];
  sys(SYS.execve, cstr(path), cstrTable(argv, keep), cstrTable(env, keep));
  throw new Errno("execve", errno(), path);
}

// ---- file descriptors -------------------------------------------------------

export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  NOCTTY: 0o400,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

export function open(path: string, flags: number, mode = 0): number {
  return sysCheck("open", path, SYS.openat, AT_FDCWD, cstr(path), flags, mode);
}

export function close(fd: number): void {
  sys(SYS.close, fd);
}

export function dup3(oldfd: number, newfd: number, flags = 0): void {
  sysCheck("dup3", `${oldfd} -> ${newfd}`, SYS.dup3, oldfd, newfd, flags);
}

export const F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

export function setCloexec(fd: number, on: boolean): void {
  const flags = check(libc().fcntl(fd, F_GETFD, 0n), "fcntl", String(fd));
  check(
    libc().fcntl(fd, F_SETFD, BigInt(on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC)),
    "fcntl",
    String(fd),
  );
}

/** Marks every fd from `from` upward close-on-exec (close_range with CLOSE_RANGE_CLOEXEC). */
export function cloexecFrom(from: number): void {
  const r = sys(SYS.close_range, from, 0xffffffff, 4 /* CLOSE_RANGE_CLOEXEC */);
  if (r === -1n) {
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      const fd = Number(entry.name);
      if (fd >= from) {
        try {
          setCloexec(fd, true);
        } catch { /* the fd of the directory listing itself */ }
      }
    }
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const chunk = data.subarray(off);
    const n = Number(libc().write(fd, chunk, BigInt(chunk.length)));
    if (n < 0) {
      const e = errno();
      if (e === 4 || e === 11) continue;
      throw new Errno("write", e, `fd ${fd}`);
    }
    off += n;
  }
}

export function kill(pid: number, signal: number): void {
  sysCheck("kill", `${pid} ${signal}`, SYS.kill, pid, signal);
}

/** True if a process with this pid exists (it may be a zombie). */
export function processExists(pid: number): boolean {
  if (sys(SYS.kill, pid, 0) === 0n) return true;
  return errno() === 1; // EPERM: exists, not ours
}

export const WNOHANG = 1;

/** waitpid() that decodes the status: exit code, or 128+signal like a shell. */
export function decodeWaitStatus(status: number): { code: number; signal?: number } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: sig };
}

export function getpid(): number {
  return Number(sys(SYS.getpid));
}

export const CLOCK_REALTIME = 0;

const timespec = new BigInt64Array(2);

/** The wall clock to the nanosecond (Date and performance.now stop at the millisecond). */
export function clockRealtime(): { sec: number; nsec: number } {
  check(libc().clock_gettime(CLOCK_REALTIME, timespec), "clock_gettime");
  return { sec: Number(timespec[0]), nsec: Number(timespec[1]) };
}

export function setsid(): void {
  sysCheck("setsid", "", SYS.setsid);
}

/**
 * waitpid() through wait4: the pid reaped (0 with WNOHANG while it runs), or
 * -1 with errno set.
 */
export function waitpid(pid: number, status: Int32Array, options: number): number {
  return Number(sys(SYS.wait4, pid, status, options, null));
}

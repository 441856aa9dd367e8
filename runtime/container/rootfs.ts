/**
 * The container's filesystem, built by its init inside the new mount
 * namespace: the rootfs made a mount point, the config's mounts, /dev, then
 * pivot_root, masked and read-only paths. Paths from the config are resolved
 * inside the rootfs (symlinks included) so that they cannot point outside.
 */
import type { Mount, Spec } from "../spec/types.ts";
import {
  chdir,
  chroot,
  close,
  fchdir,
  mknod,
  MNT_DETACH,
  mount,
  mountFlagsOf,
  MS,
  O,
  open,
  pivotRoot,
  umount2,
} from "../linux/libc.ts";

// ---- mount options -------------------------------------------------------------

const FLAG_OPTIONS: Record<string, [clear: boolean, flag: number]> = {
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  nosuid: [false, MS.NOSUID],
  suid: [true, MS.NOSUID],
  nodev: [false, MS.NODEV],
  dev: [true, MS.NODEV],
  noexec: [false, MS.NOEXEC],
  exec: [true, MS.NOEXEC],
  sync: [false, MS.SYNCHRONOUS],
  async: [true, MS.SYNCHRONOUS],
  dirsync: [false, MS.DIRSYNC],
  remount: [false, MS.REMOUNT],
  mand: [false, MS.MANDLOCK],
  nomand: [true, MS.MANDLOCK],
  atime: [true, MS.NOATIME],
  noatime: [false, MS.NOATIME],
  diratime: [true, MS.NODIRATIME],
  nodiratime: [false, MS.NODIRATIME],
  bind: [false, MS.BIND],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  norelatime: [true, MS.RELATIME],
  strictatime: [false, MS.STRICTATIME],
  nostrictatime: [true, MS.STRICTATIME],
  lazytime: [false, MS.LAZYTIME],
  nolazytime: [true, MS.LAZYTIME],
  nosymfollow: [false, MS.NOSYMFOLLOW],
  symfollow: [true, MS.NOSYMFOLLOW],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string[];
}

/** Splits OCI mount options into mount(2) flags, propagation changes and fs data. */
export function parseMountOptions(options: string[] = []): ParsedOptions {
  const out: ParsedOptions = { flags: 0, propagation: [], data: [] };
  for (const opt of options) {
    if (opt in FLAG_OPTIONS) {
      const [clear, flag] = FLAG_OPTIONS[opt];
      out.flags = clear ? out.flags & ~flag : out.flags | flag;
    } else if (opt in PROPAGATION_OPTIONS) {
      out.propagation.push(PROPAGATION_OPTIONS[opt]);
    } else if (opt === "idmap" || opt === "ridmap") {
      throw new Error(`mount option "${opt}" is not supported by berth`);
    } else if (opt === "tmpcopyup") {
      // A runc extension that copies the image's content into a new tmpfs; not needed for correctness.
      continue;
    } else {
      out.data.push(opt);
    }
  }
  return out;
}

export function propagationFlag(name: string | undefined): number {
  return name ? PROPAGATION_OPTIONS[name] ?? MS.SLAVE | MS.REC : MS.SLAVE | MS.REC;
}

// ---- paths inside the rootfs ----------------------------------------------------

/**
 * Joins `unsafe` to `root` as if `root` were "/": symlinks are followed
 * inside root, ".." cannot climb above it. Missing trailing parts are kept.
 */
export function secureJoin(root: string, unsafe: string): string {
  const parts = unsafe.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = `${root}/${[...done, part].join("/")}`;
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(candidate);
    } catch {
      info = undefined;
    }
    if (info?.isSymlink) {
      if (++links > 255) throw new Error(`too many symlinks resolving ${unsafe} in the rootfs`);
      const target = Deno.readLinkSync(candidate);
      if (target.startsWith("/")) done.length = 0;
      parts.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
      continue;
    }
    done.push(part);
  }
  return done.length ? `${root}/${done.join("/")}` : root;
}

function ensureDir(path: string): void {
  Deno.mkdirSync(path, { recursive: true, mode: 0o755 });
}

function ensureFile(path: string): void {
  ensureDir(path.slice(0, path.lastIndexOf("/")) || "/");
  try {
    Deno.lstatSync(path);
  } catch {
    Deno.writeFileSync(path, new Uint8Array(), { mode: 0o644 });
  }
}

// ---- mounts ------------------------------------------------------------------------

function isDev(m: Mount): boolean {
  return m.destination.replace(/\/+$/, "") === "/dev";
}

function isBind(m: Mount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/** Mounts one config entry under rootfs. */
/** What the init knows of its cgroups when it mounts a `cgroup` entry. */
export interface CgroupView {
  version: 1 | 2;
  /** The container's cgroup directories on the host, by controller ("" on v2). */
  paths: Record<string, string>;
  /** In a cgroup namespace of its own a fresh mount shows just its cgroup. */
  namespaced: boolean;
}

function mountEntry(rootfs: string, m: Mount, cgroups: CgroupView): void {
  const dest = secureJoin(rootfs, m.destination);
  const opts = parseMountOptions(m.options);
  if (isBind(m)) {
    const source = m.source ?? "";
    let srcInfo: Deno.FileInfo;
    try {
      srcInfo = Deno.statSync(source);
    } catch {
      throw new Error(
        `mount ${m.destination}: bind source ${JSON.stringify(source)} does not exist`,
      );
    }
    if (srcInfo.isDirectory) ensureDir(dest);
    else ensureFile(dest);
    mount(source, dest, null, MS.BIND | (opts.flags & MS.REC), null);
    // Flags other than bind itself need a remount of the new bind mount.
    const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra) mount(null, dest, null, extra | MS.BIND | MS.REMOUNT, null);
  } else if (m.type === "cgroup") {
    mountCgroup(dest, opts, cgroups);
  } else {
    ensureDir(dest);
    // A read-only /dev must still be filled in by us: mounted rw now, read-only after pivot_root.
    const flags = isDev(m) ? opts.flags & ~MS.RDONLY : opts.flags;
    mount(m.source ?? m.type ?? "none", dest, m.type ?? null, flags, opts.data.join(","));
  }
  for (const p of opts.propagation) mount(null, dest, null, p, null);
}

/**
 * cgroup v2: the unified hierarchy; v1: a tmpfs with one mount per hierarchy.
 * Without a cgroup namespace the container sees only its own cgroup
 * directories (bind mounts), never the host's tree.
 */
function mountCgroup(dest: string, opts: ParsedOptions, cgroups: CgroupView): void {
  ensureDir(dest);
  const flags = opts.flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const bindReadonly = (src: string, target: string) => {
    mount(src, target, null, MS.BIND, null);
    mount(null, target, null, MS.BIND | MS.REMOUNT | flags, null);
  };
  if (cgroups.version === 2) {
    if (cgroups.namespaced) mount("cgroup2", dest, "cgroup2", flags, null);
    else bindReadonly(cgroups.paths[""], dest);
    return;
  }
  mount("tmpfs", dest, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755");
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post?.startsWith("cgroup ")) continue;
    const mountPoint = pre.split(" ")[4];
    const name = mountPoint.slice(mountPoint.lastIndexOf("/") + 1);
    const superOpts = post.split(" ")[2].split(",").filter((o) => o !== "rw" && o !== "ro");
    const target = `${dest}/${name}`;
    if (cgroups.namespaced) {
      ensureDir(target);
      mount("cgroup", target, "cgroup", flags, superOpts.join(","));
      continue;
    }
    const own = superOpts.map((c) => cgroups.paths[c]).find((p) => p !== undefined);
    if (!own) continue; // a hierarchy berth does not manage (e.g. name=systemd)
    ensureDir(target);
    bindReadonly(own, target);
  }
  if (opts.flags & MS.RDONLY) {
    mount(null, dest, null, MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755");
  }
}

// ---- /dev ----------------------------------------------------------------------------

const DEFAULT_DEVICES = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;

function createDevice(
  rootfs: string,
  d: {
    path: string;
    type?: string;
    major?: number;
    minor?: number;
    fileMode?: number;
    uid?: number;
    gid?: number;
  },
): void {
  const dest = secureJoin(rootfs, d.path);
  ensureDir(dest.slice(0, dest.lastIndexOf("/")));
  try {
    Deno.removeSync(dest);
  } catch { /* absent */ }
  const type = d.type ?? "c";
  const kind = type === "b" ? S_IFBLK : type === "p" ? S_IFIFO : S_IFCHR;
  const mode = d.fileMode ?? 0o666;
  mknod(dest, kind | (mode & 0o7777), d.major ?? 0, d.minor ?? 0);
  Deno.chmodSync(dest, mode & 0o7777); // umask applied at mknod
  Deno.chownSync(dest, d.uid ?? 0, d.gid ?? 0);
}

function symlinkForce(target: string, path: string): void {
  try {
    Deno.symlinkSync(target, path);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
}

/** Default device nodes, the config's devices, and the standard /dev symlinks. */
function populateDev(rootfs: string, spec: Spec, devIsBind: boolean): void {
  if (!devIsBind) {
    for (const d of DEFAULT_DEVICES) createDevice(rootfs, d);
  }
  for (const d of spec.linux?.devices ?? []) createDevice(rootfs, d);
  const dev = secureJoin(rootfs, "/dev");
  ensureDir(dev);
  symlinkForce("/proc/self/fd", `${dev}/fd`);
  symlinkForce("/proc/self/fd/0", `${dev}/stdin`);
  symlinkForce("/proc/self/fd/1", `${dev}/stdout`);
  symlinkForce("/proc/self/fd/2", `${dev}/stderr`);
  try {
    Deno.lstatSync(`${dev}/pts/ptmx`);
    try {
      Deno.removeSync(`${dev}/ptmx`);
    } catch { /* absent */ }
    Deno.symlinkSync("pts/ptmx", `${dev}/ptmx`);
  } catch { /* no devpts */ }
  try {
    Deno.statSync("/proc/kcore");
    symlinkForce("/proc/kcore", `${dev}/core`);
  } catch { /* no kcore */ }
}

// ---- the whole sequence -------------------------------------------------------------

/**
 * Everything before pivot_root: propagation, the rootfs bind, mounts, /dev.
 * `inCgroup` resolves once the init is in its cgroup (and in its cgroup
 * namespace, if it has one of its own): `cgroup` mounts wait for it.
 */
export async function prepareRootfs(
  spec: Spec,
  rootfs: string,
  cgroups: CgroupView,
  inCgroup: () => Promise<void>,
): Promise<void> {
  mount(null, "/", null, propagationFlag(spec.linux?.rootfsPropagation), null);
  // pivot_root needs the new root to be a mount point.
  mount(rootfs, rootfs, null, MS.BIND | MS.REC, null);
  let devIsBind = false;
  for (const m of spec.mounts ?? []) {
    if (isDev(m) && isBind(m)) devIsBind = true;
    if (m.type === "cgroup") await inCgroup();
    try {
      mountEntry(rootfs, m, cgroups);
    } catch (e) {
      throw new Error(`mounting ${m.destination} (${m.type ?? "bind"}): ${(e as Error).message}`);
    }
  }
  populateDev(rootfs, spec, devIsBind);
}

/** Binds the pty's slave at /dev/console, as consoles are expected there. */
export function mountConsole(rootfs: string, slavePath: string): void {
  const dest = secureJoin(rootfs, "/dev/console");
  ensureFile(dest);
  mount(slavePath, dest, null, MS.BIND, null);
}

/** Makes rootfs the new "/" and detaches the old root. */
export function enterRootfs(rootfs: string, noPivot: boolean): void {
  if (noPivot) {
    chdir(rootfs);
    mount(rootfs, "/", null, MS.MOVE, null);
    chroot(".");
    chdir("/");
    return;
  }
  const oldRoot = open("/", O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  const newRoot = open(rootfs, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    fchdir(newRoot, rootfs);
    // pivot_root(".", ".") stacks the old root on top of the new one; then it is detached.
    pivotRoot(".", ".");
    fchdir(oldRoot, "old root");
    mount(null, ".", null, MS.SLAVE | MS.REC, null);
    umount2(".", MNT_DETACH);
    chdir("/");
  } finally {
    close(oldRoot);
    close(newRoot);
  }
}

/** After pivot_root: masked paths, read-only paths, a read-only root. */
export function finishRootfs(spec: Spec): void {
  for (const path of spec.linux?.maskedPaths ?? []) maskPath(path);
  for (const path of spec.linux?.readonlyPaths ?? []) readonlyPath(path);
  for (const m of spec.mounts ?? []) {
    if (isDev(m) && !isBind(m) && (parseMountOptions(m.options).flags & MS.RDONLY)) {
      remountReadonly(m.destination);
    }
  }
  if (spec.root?.readonly) {
    mount(null, "/", null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
  }
}

function remountReadonly(path: string): void {
  try {
    mount(null, path, null, MS.REMOUNT | MS.RDONLY | MS.BIND, null);
  } catch { /* already read-only (it was mounted so) */ }
}

function maskPath(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return; // nothing to hide
  }
  if (info.isDirectory) mount("tmpfs", path, "tmpfs", MS.RDONLY, null);
  else mount("/dev/null", path, null, MS.BIND, null);
}

function readonlyPath(path: string): void {
  try {
    Deno.statSync(path);
  } catch {
    return;
  }
  mount(path, path, null, MS.BIND | MS.REC, null);
  // Keeping nosuid, nodev, noexec and the atime flags of the mount below (as runc does).
  const kept = mountFlagsOf(path);
  mount(null, path, null, kept | MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC, null);
}

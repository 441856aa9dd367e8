/**
 * `docker cp` and `docker export` on a container's root filesystem: stat
 * (HEAD archive), a tar of a path (GET archive), extracting a tar into a
 * directory (PUT archive), a tar of everything (export). Paths resolve as
 * Docker's container.ResolvePath does (see scope.ts); the root is the task's
 * while the container runs, else mounted for the request (container_fs.ts).
 */
import type { Engine } from "../engine.ts";
import type { ContainerRecord } from "./store.ts";
import { ApiError, badRequest, conflict, notFound } from "../api/errors.ts";
import { openContainerFs } from "./container_fs.ts";
import {
  base,
  clean,
  describe,
  followSymlinkInScope,
  inContainer,
  join,
  preserveTrailingDotOrSeparator,
  resolvePath,
  ScopeError,
} from "./scope.ts";
import { tarStream } from "./tar_out.ts";
import { type ExtractOptions, extractTar } from "./tar_in.ts";

/** types.ContainerPathStat, sent base64 JSON in X-Docker-Container-Path-Stat. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode type bits. */
const MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
};

/** Go's os.FileMode of an lstat result. */
export function goFileMode(st: Deno.FileInfo): number {
  const raw = st.mode ?? 0;
  let m = raw & 0o777;
  if (st.isDirectory) m += MODE.dir;
  else if (st.isSymlink) m += MODE.symlink;
  else if (st.isFifo) m += MODE.namedPipe;
  else if (st.isSocket) m += MODE.socket;
  else if (st.isCharDevice) m += MODE.device + MODE.charDevice;
  else if (st.isBlockDevice) m += MODE.device;
  if (raw & 0o4000) m += MODE.setuid;
  if (raw & 0o2000) m += MODE.setgid;
  if (raw & 0o1000) m += MODE.sticky;
  return m;
}

/** Go's time.Time JSON (RFC 3339, fraction without trailing zeros). */
function goTime(d: Date | null): string {
  const iso = (d ?? new Date(0)).toISOString(); // 2026-11-25T09:43:10.187Z
  return iso.replace(/\.?0*Z$/, "Z");
}

export const pathStatHeader = (stat: PathStat): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(stat))));

/** Docker's containerFileNotFound, named by the reference the client used. */
const fileNotFound = (path: string, ref: string) =>
  notFound(`Could not find the file ${path} in container ${ref}`);

/** Maps lookup failures to Docker's answers: NotFound → 404, others → 500. */
function failure(e: unknown, path: string, ref: string): Error {
  if (e instanceof ApiError) return e;
  if (e instanceof Deno.errors.NotFound) return fileNotFound(path, ref);
  if (e instanceof ScopeError) return new ApiError(500, e.message);
  return new ApiError(500, (e as Error).message);
}

function lstatIn(root: string, hostPath: string): Deno.FileInfo {
  try {
    return Deno.lstatSync(hostPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw e;
    throw new ScopeError(`lstat ${inContainer(hostPath, root)}: ${describe(e)}`);
  }
}

function statAt(root: string, resolved: string, abs: string): PathStat {
  const st = lstatIn(root, resolved);
  let linkTarget = "";
  if (st.isSymlink) {
    linkTarget = inContainer(followSymlinkInScope(join(root, abs), root), root);
  }
  return {
    name: base(abs),
    size: st.size,
    mode: goFileMode(st),
    mtime: goTime(st.mtime),
    linkTarget,
  };
}

function publish(engine: Engine, rec: ContainerRecord, action: string): void {
  engine.events.publish({
    type: "container",
    action,
    id: rec.Id,
    attributes: { ...rec.Config.Labels, image: rec.Config.Image ?? "", name: rec.Name.slice(1) },
  });
}

/** HEAD /containers/{id}/archive. */
export function statPath(engine: Engine, ref: string, path: string): PathStat {
  const rec = engine.containers.get(ref);
  const fs = openContainerFs(engine, rec);
  try {
    const { resolved, abs } = resolvePath(fs.root, path);
    return statAt(fs.root, resolved, abs);
  } catch (e) {
    throw failure(e, path, ref);
  } finally {
    fs.release();
  }
}

/** GET /containers/{id}/archive: the stat and a tar named after the path's last element. */
export function archivePath(
  engine: Engine,
  ref: string,
  path: string,
): { stat: PathStat; body: ReadableStream<Uint8Array> } {
  const rec = engine.containers.get(ref);
  const fs = openContainerFs(engine, rec);
  try {
    const { resolved, abs } = resolvePath(fs.root, path);
    const stat = statAt(fs.root, resolved, abs);
    // The top entry takes the requested name (a symlinked directory asked with
    // "/" is archived under the link's name); "/" itself gives names like "/bin".
    let source = clean(resolved);
    if (base(source) === ".") source += "/.";
    const rebase = base(abs);
    const body = tarStream({ path: source, name: rebase === "/" ? "" : rebase }, fs.release);
    publish(engine, rec, "archive-path");
    return { stat, body };
  } catch (e) {
    fs.release();
    throw failure(e, path, ref);
  }
}

/** A user of the container (Config.User) looked up in its /etc/passwd: copyUIDGID's owner. */
function containerUser(root: string, user: string): { uid: number; gid: number } {
  const name = user.split(":")[0];
  let passwd = "";
  try {
    passwd = Deno.readTextFileSync(followSymlinkInScope(`${root}/etc/passwd`, root));
  } catch { /* no passwd file */ }
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && (f[0] === name || f[2] === name)) {
      return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  }
  throw new ApiError(500, `getent unable to find entry "${name}" in passwd database`);
}

/** PUT /containers/{id}/archive: `body` (a tar) extracted into the directory `path`. */
export async function extractToDir(
  engine: Engine,
  ref: string,
  path: string,
  opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean },
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  const rec = engine.containers.get(ref);
  const fs = openContainerFs(engine, rec);
  try {
    // Unlike GET, the last element is followed too: a symlink to a directory is a fine destination.
    const abs = preserveTrailingDotOrSeparator(join("/", path), path);
    const resolved = followSymlinkInScope(join(fs.root, abs), fs.root);
    const st = lstatIn(fs.root, resolved);
    if (!st.isDirectory) throw badRequest("extraction point is not a directory");
    if (rec.HostConfig.ReadonlyRootfs) throw badRequest("container rootfs is marked read-only");
    const options: ExtractOptions = { noOverwriteDirNonDir: opts.noOverwriteDirNonDir };
    if (opts.copyUIDGID && rec.Config.User) {
      options.chown = containerUser(fs.root, rec.Config.User);
    }
    await extractTar(body, fs.root, inContainer(resolved, fs.root), options);
    publish(engine, rec, "extract-to-dir");
  } catch (e) {
    throw failure(e, path, ref);
  } finally {
    fs.release();
  }
}

/** GET /containers/{id}/export: the whole root filesystem. */
export function exportContainer(engine: Engine, ref: string): ReadableStream<Uint8Array> {
  const rec = engine.containers.get(ref);
  if (rec.State.Dead) throw conflict(`You cannot export container ${rec.Id} which is Dead`);
  if (rec.State.Status === "removing") {
    throw conflict(`You cannot export container ${rec.Id} which is being removed`);
  }
  let fs;
  try {
    fs = openContainerFs(engine, rec);
  } catch (e) {
    throw new ApiError(500, `Error exporting container ${ref}: ${(e as Error).message}`);
  }
  const body = tarStream({ path: fs.root, name: null }, fs.release);
  publish(engine, rec, "export");
  return body;
}

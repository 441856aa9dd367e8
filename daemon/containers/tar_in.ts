/**
 * Extracts a tar (plain, gzip or zstd) into a directory of a container's
 * root filesystem, as Docker's archive.Unpack does for `PUT
 * /containers/{id}/archive`, with Docker's checks and error texts (paths in
 * them are container paths).
 *
 * Docker runs the extraction chrooted into the container; berth gets the
 * same scoping by resolving every entry's parent directory with
 * {@link followSymlinkInScope}, so a symlink in the container or in the tar
 * (absolute, relative, `..`) redirects a write only to somewhere else inside
 * the container. The entry itself is never followed: an existing one is
 * removed first (unless both are directories), files are created with
 * O_EXCL, and ownership, times and xattrs use the l* calls.
 *
 * Limit: resolution and the write are separate steps, so a *running*
 * container that swaps a directory for a symlink in between could redirect
 * one write (Docker closes this by working inside the container's mount
 * namespace). Stopped containers, whose root only this daemon sees, are not
 * affected.
 */
import tar, { type Header } from "tar-stream";
import type { Readable } from "node:stream";
import { Errno, lchown, lsetxattr, lutimes, mknod } from "../../runtime/linux/libc.ts";
import { decompressed } from "../images/unpack/decompress.ts";
import { rawPaxDecoding, XATTRS } from "../images/unpack/pax.ts";
import { base, clean, describe, dir, followSymlinkInScope, join } from "./scope.ts";

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory and the reverse. */
  noOverwriteDirNonDir: boolean;
  /** One owner for everything (`copyUIDGID` with a configured user); the entries' own otherwise. */
  chown?: { uid: number; gid: number };
}

/** An error Docker reports as the extraction's failure (a 500 with this text). */
export class ExtractError extends Error {}

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;
const EPERM = 1, ENOTSUP = 95;

/** Go's %q, close enough for paths. */
const q = (s: string) => JSON.stringify(s);

interface Pax {
  mtime?: string;
  atime?: string;
  uid?: string;
  gid?: string;
  [XATTRS]?: Map<string, Uint8Array>;
}

function toNs(seconds: string | undefined, fallback: Date): bigint {
  if (seconds !== undefined && /^-?\d+(\.\d+)?$/.test(seconds)) {
    const [s, frac = ""] = seconds.split(".");
    return BigInt(s) * 1_000_000_000n + BigInt((frac + "000000000").slice(0, 9));
  }
  return BigInt(fallback.getTime()) * 1_000_000n;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** Runs a file system call, reporting a failure as Go's PathError on the container path. */
function fsCall<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Errno) throw new ExtractError(`${op} ${path}: ${e.message.split(": ").pop()}`);
    throw new ExtractError(`${op} ${path}: ${describe(e)}`);
  }
}

class Extractor {
  /** Directories whose times are set last (writing into them changes them). */
  #dirs: [string, bigint, bigint][] = [];

  constructor(
    readonly root: string,
    /** The destination as a container path (symlinks already resolved). */
    readonly dest: string,
    readonly opts: ExtractOptions,
  ) {}

  /** Host path of a container path: its parent resolved in scope, its last element as is. */
  host(path: string): string {
    if (path === "/") return this.root;
    const parent = followSymlinkInScope(join(this.root, dir(path)), this.root);
    return `${parent}/${base(path)}`;
  }

  /** os.MkdirAll of a container directory, new directories 0755 and owned by root. */
  mkdirAll(path: string): void {
    let sofar = "";
    for (const part of path.split("/").filter(Boolean)) {
      sofar += "/" + part;
      const h = followSymlinkInScope(join(this.root, sofar), this.root);
      const st = lstatOrNull(h);
      if (st?.isDirectory) continue;
      if (st) throw new ExtractError(`mkdir ${sofar}: not a directory`);
      fsCall("mkdir", sofar, () => Deno.mkdirSync(h, { mode: 0o755 }));
      fsCall("lchown", sofar, () => lchown(h, 0, 0));
    }
  }

  async entry(h: Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    const name = clean(h.name);
    if (!name.endsWith("/")) {
      const parent = join(this.dest, dir(name));
      if (!lstatOrNull(this.host(parent))) this.mkdirAll(parent);
    }
    const path = join(this.dest, name);
    const rel = relative(this.dest, path);
    if (rel === ".." || rel.startsWith("../")) {
      throw new ExtractError(`${q(name)} is outside of ${q(this.dest)}`);
    }
    const hostPath = this.host(path);
    const isDir = h.type === "directory";
    const fi = lstatOrNull(hostPath);
    if (fi) {
      if (this.opts.noOverwriteDirNonDir && fi.isDirectory && !isDir) {
        throw new ExtractError(
          `cannot overwrite directory ${q(path)} with non-directory ${q(this.dest)}`,
        );
      }
      if (this.opts.noOverwriteDirNonDir && !fi.isDirectory && isDir) {
        throw new ExtractError(
          `cannot overwrite non-directory ${q(path)} with directory ${q(this.dest)}`,
        );
      }
      if (fi.isDirectory && name === ".") return await drain(body);
      if (!(fi.isDirectory && isDir)) {
        fsCall("remove", path, () => Deno.removeSync(hostPath, { recursive: fi.isDirectory }));
      }
    }
    await this.create(path, hostPath, h, body, fi);
  }

  async create(
    path: string,
    hostPath: string,
    h: Header,
    body: AsyncIterable<Uint8Array>,
    existing: Deno.FileInfo | null,
  ): Promise<void> {
    const perm = h.mode & 0o7777;
    let linkTarget: Deno.FileInfo | null = null;
    switch (h.type) {
      case "directory":
        if (!existing?.isDirectory) {
          fsCall("mkdir", path, () => Deno.mkdirSync(hostPath, { mode: perm }));
        }
        break;
      case "file":
      case "contiguous-file": {
        const f = fsCall(
          "open",
          path,
          () => Deno.openSync(hostPath, { write: true, createNew: true, mode: perm }),
        );
        try {
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) off += f.writeSync(chunk.subarray(off));
          }
        } finally {
          f.close();
        }
        break;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        const kind = h.type === "fifo" ? S_IFIFO : h.type === "block-device" ? S_IFBLK : S_IFCHR;
        fsCall("mknod", path, () => mknod(hostPath, kind | perm, h.devmajor ?? 0, h.devminor ?? 0));
        break;
      }
      case "link": {
        const target = join(this.dest, h.linkname ?? "");
        if (!target.startsWith(this.dest)) {
          throw new ExtractError(`invalid hardlink ${q(target)} -> ${q(h.linkname ?? "")}`);
        }
        const targetHost = this.host(target);
        fsCall("link", path, () => Deno.linkSync(targetHost, hostPath));
        linkTarget = lstatOrNull(targetHost);
        break;
      }
      case "symlink": {
        const target = join(dir(path), h.linkname ?? "");
        if (!target.startsWith(this.dest)) {
          throw new ExtractError(`invalid symlink ${q(path)} -> ${q(h.linkname ?? "")}`);
        }
        fsCall("symlink", path, () => Deno.symlinkSync(h.linkname ?? "", hostPath));
        break;
      }
      default:
        throw new ExtractError(`unhandled tar header type ${h.type}`);
    }
    await drain(body);

    const pax = (h.pax ?? {}) as Pax;
    const owner = this.opts.chown ?? {
      uid: pax.uid !== undefined ? Number(pax.uid) : h.uid,
      gid: pax.gid !== undefined ? Number(pax.gid) : h.gid,
    };
    try {
      lchown(hostPath, owner.uid, owner.gid);
    } catch (e) {
      throw new ExtractError(
        `failed to Lchown ${q(path)} for UID ${h.uid}, GID ${h.gid}: ${(e as Error).message}`,
      );
    }
    for (const [key, value] of pax[XATTRS] ?? []) {
      try {
        lsetxattr(hostPath, key, value);
      } catch (e) {
        // As Docker: file systems without xattrs (or without that namespace) are not an error.
        if (e instanceof Errno && (e.code === ENOTSUP || e.code === EPERM)) continue;
        throw new ExtractError(`lsetxattr ${path} ${key}: ${(e as Error).message}`);
      }
    }
    const symlinkish = h.type === "symlink" || (h.type === "link" && linkTarget?.isSymlink);
    // chmod after chown, which clears setuid bits.
    if (!symlinkish) fsCall("chmod", path, () => Deno.chmodSync(hostPath, perm));
    const mtime = toNs(pax.mtime, h.mtime ?? new Date(0));
    let atime = pax.atime !== undefined ? toNs(pax.atime, h.mtime ?? new Date(0)) : mtime;
    if (atime < mtime) atime = mtime;
    if (h.type === "directory") this.#dirs.push([hostPath, atime, mtime]);
    else if (h.type !== "link" || !linkTarget?.isSymlink) {
      fsCall("chtimes", path, () => lutimes(hostPath, atime, mtime));
    }
  }

  finish(): void {
    for (const [hostPath, atime, mtime] of this.#dirs) {
      try {
        lutimes(hostPath, atime, mtime);
      } catch { /* removed by a later entry */ }
    }
  }
}

/** Go's filepath.Rel for two clean absolute paths. */
function relative(from: string, to: string): string {
  const a = from.split("/").filter(Boolean), b = to.split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/") || ".";
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) { /* discard */ }
}

function drained(stream: { once(ev: string, fn: () => void): void }): Promise<void> {
  return new Promise((resolve) => stream.once("drain", resolve));
}

/**
 * Unpacks `input` into the container directory `dest` (a resolved container
 * path) of the root filesystem at `root`.
 */
export async function extractTar(
  input: ReadableStream<Uint8Array>,
  root: string,
  dest: string,
  opts: ExtractOptions,
): Promise<void> {
  const { output } = await decompressed(input);
  const extract = rawPaxDecoding(tar.extract());
  const writer = new Extractor(root, dest, opts);
  const feed = (async (src: Readable) => {
    for await (const chunk of src) {
      if (extract.destroyed) break;
      if (!extract.write(chunk)) await drained(extract);
    }
    (extract as unknown as { end(): void }).end();
  })(output).catch((e) => {
    extract.destroy(e);
  });
  try {
    for await (const entry of extract) {
      await writer.entry(entry.header, entry as AsyncIterable<Uint8Array>);
    }
  } catch (e) {
    output.destroy();
    await feed;
    if (e instanceof ExtractError) throw e;
    throw new ExtractError((e as Error).message);
  }
  await feed;
  writer.finish();
}

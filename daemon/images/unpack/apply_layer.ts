/**
 * Applies one image layer (a tar, maybe gzip or zstd compressed) to a
 * directory that overlayfs will stack: whiteouts become overlay whiteouts
 * (`.wh.x` → character device 0/0 at `x`; `.wh..wh..opq` → the
 * `trusted.overlay.opaque=y` xattr on the directory), and hard links,
 * symlinks, device nodes, fifos, ownership, modes (setuid included), xattrs
 * and mtimes are kept.
 *
 * Entries are checked before anything is written: a name or hard link that
 * leaves the layer directory (`../x`, `/../x`), or a path that goes through a
 * symlink, is refused with a "breakout" error, since the layer's own symlinks
 * must never redirect writes.
 *
 * The uncompressed stream is hashed as it is read: the result carries the
 * layer's diff id (sha256 of the uncompressed tar).
 */
import tar, { type Header } from "tar-stream";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { Sha256 } from "../digest.ts";
import { ImageError } from "../errors.ts";
import { lchown, lsetxattr, lutimes, mknod } from "../../../runtime/linux/libc.ts";
import { type Compression, decompressed } from "./decompress.ts";
import { rawPaxDecoding, XATTRS } from "./pax.ts";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";
export const OPAQUE_XATTR = "trusted.overlay.opaque";

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;

export interface ApplyResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Bytes of regular files written (hard links counted once). */
  size: number;
  compression: Compression;
  entries: number;
}

export interface ApplyOptions {
  /** Called with the count of (compressed) input bytes consumed so far. */
  onProgress?: (bytes: number) => void;
}

/** Entry names (and hard link targets) that leave the layer directory. */
export class BreakoutError extends ImageError {
  constructor(message: string) {
    super("invalid", message);
  }
}

/** `name` made relative to the layer root, or a {@link BreakoutError}. */
export function cleanEntryName(name: string): string {
  const rel = posix.normalize(name.replace(/^\/+/, ""));
  if (rel === ".." || rel.startsWith("../")) {
    throw new BreakoutError(`invalid tar entry ${JSON.stringify(name)}: outside of the layer`);
  }
  return rel === "." || rel === "./" ? "" : rel.replace(/\/+$/, "");
}

function drained(stream: { once(ev: string, fn: () => void): void }): Promise<void> {
  return new Promise((resolve) => stream.once("drain", resolve));
}

/** Writes a layer into `dest` (an existing, empty directory). */
export async function applyLayer(
  input: ReadableStream<Uint8Array>,
  dest: string,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  let consumed = 0;
  const counted = input.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        consumed += chunk.length;
        opts.onProgress?.(consumed);
        ctl.enqueue(chunk);
      },
    }),
  );
  const { compression, output } = await decompressed(counted);
  const diff = new Sha256();
  const extract = rawPaxDecoding(tar.extract());
  const writer = new LayerWriter(dest);

  const feed = (async (src: Readable) => {
    for await (const chunk of src) {
      diff.update(chunk);
      if (extract.destroyed) continue; // drain the rest (padding after the tar's end) for the hash
      if (!extract.write(chunk)) await drained(extract);
    }
    (extract as unknown as { end(): void }).end();
  })(output).catch((e) => {
    extract.destroy(e);
    throw e;
  });
  try {
    for await (const entry of extract) {
      await writer.entry(entry.header, entry as AsyncIterable<Uint8Array>);
    }
  } catch (e) {
    output.destroy();
    await feed.catch(() => {});
    throw e;
  }
  await feed;
  writer.finish();
  return { diffId: diff.digest(), size: writer.size, compression, entries: writer.entries };
}

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

/** Writes entries one by one; keeps what is needed for checks and directory times. */
class LayerWriter {
  size = 0;
  entries = 0;
  /** Directories (relative) known to be real directories, not symlinks. */
  #dirs = new Set<string>([""]);
  /** Directory times, set last (writing children changes them). */
  #dirTimes: [string, bigint, bigint][] = [];

  constructor(private root: string) {}

  async entry(h: Header, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.entries++;
    const rel = cleanEntryName(h.name);
    const pax = (h.pax ?? {}) as Pax;
    const uid = pax.uid !== undefined ? Number(pax.uid) : h.uid;
    const gid = pax.gid !== undefined ? Number(pax.gid) : h.gid;
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    const base = rel.slice(rel.lastIndexOf("/") + 1);

    if (rel !== "") this.ensureDir(parent);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(body);
      if (base === OPAQUE_WHITEOUT) {
        lsetxattr(this.abs(parent), OPAQUE_XATTR, new TextEncoder().encode("y"));
      } else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        const hidden = (parent ? parent + "/" : "") + base.slice(WHITEOUT_PREFIX.length);
        if (hidden.endsWith("/") || base === WHITEOUT_PREFIX) {
          throw new ImageError("invalid", `invalid whiteout entry ${JSON.stringify(h.name)}`);
        }
        this.removeExisting(hidden);
        mknod(this.abs(hidden), S_IFCHR, 0, 0);
        lchown(this.abs(hidden), uid, gid);
      }
      return;
    }

    const path = this.abs(rel);
    const existing = rel === "" ? Deno.lstatSync(path) : lstatOrNull(path);
    if (existing && !(existing.isDirectory && h.type === "directory")) this.removeExisting(rel);

    switch (h.type) {
      case "directory":
        if (!existing || !existing.isDirectory) Deno.mkdirSync(path, { mode: 0o700 });
        this.#dirs.add(rel);
        break;
      case "file":
      case "contiguous-file": {
        const f = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
        try {
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) off += f.writeSync(chunk.subarray(off));
            this.size += chunk.length;
          }
        } finally {
          f.close();
        }
        break;
      }
      case "link": {
        const target = cleanEntryName(h.linkname);
        if (target === "") throw new BreakoutError(`invalid hard link ${h.name} to the layer root`);
        this.checkNoSymlinkParents(target);
        const st = lstatOrNull(this.abs(target));
        if (!st || st.isDirectory) {
          throw new ImageError(
            "invalid",
            `invalid hard link ${JSON.stringify(h.name)}: target ${JSON.stringify(h.linkname)} ` +
              (st ? "is a directory" : "is not in the layer"),
          );
        }
        Deno.linkSync(this.abs(target), path);
        break;
      }
      case "symlink":
        Deno.symlinkSync(h.linkname, path);
        break;
      case "character-device":
        mknod(path, S_IFCHR | (h.mode & 0o7777), h.devmajor, h.devminor);
        break;
      case "block-device":
        mknod(path, S_IFBLK | (h.mode & 0o7777), h.devmajor, h.devminor);
        break;
      case "fifo":
        mknod(path, S_IFIFO | (h.mode & 0o7777), 0, 0);
        break;
      default:
        // Other types (sockets, GNU extensions) carry nothing to write.
        await drain(body);
        return;
    }
    await drain(body);

    const isSymlink = h.type === "symlink";
    const linkTarget = h.type === "link" ? lstatOrNull(this.abs(cleanEntryName(h.linkname))) : null;
    lchown(path, uid, gid);
    if (!isSymlink && !(linkTarget?.isSymlink)) Deno.chmodSync(path, h.mode & 0o7777);
    for (const [name, value] of pax[XATTRS] ?? []) lsetxattr(path, name, value);
    const mtime = toNs(pax.mtime, h.mtime);
    const atime = pax.atime !== undefined ? toNs(pax.atime, h.mtime) : mtime;
    if (h.type === "directory") this.#dirTimes.push([path, atime, mtime]);
    else if (!(linkTarget?.isSymlink)) lutimes(path, atime, mtime);
  }

  finish(): void {
    for (const [path, atime, mtime] of this.#dirTimes.reverse()) lutimes(path, atime, mtime);
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /** Every component of `rel`'s parent must be a real directory (never a symlink). */
  private checkNoSymlinkParents(rel: string): void {
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    if (this.#dirs.has(parent)) return;
    let sofar = "";
    for (const part of parent.split("/")) {
      sofar = sofar ? `${sofar}/${part}` : part;
      if (this.#dirs.has(sofar)) continue;
      const st = lstatOrNull(this.abs(sofar));
      if (st?.isSymlink) {
        throw new BreakoutError(
          `invalid tar entry ${JSON.stringify(rel)}: ${JSON.stringify(sofar)} is a symlink`,
        );
      }
      if (!st) throw new ImageError("invalid", `hard link target ${rel} is not in the layer`);
      if (!st.isDirectory) {
        throw new ImageError("invalid", `invalid tar entry ${rel}: ${sofar} is not a directory`);
      }
      this.#dirs.add(sofar);
    }
  }

  /** Makes the parent directories of an entry (0755, as Docker), refusing symlinks. */
  private ensureDir(rel: string): void {
    if (this.#dirs.has(rel)) return;
    let sofar = "";
    for (const part of rel.split("/")) {
      sofar = sofar ? `${sofar}/${part}` : part;
      if (this.#dirs.has(sofar)) continue;
      const st = lstatOrNull(this.abs(sofar));
      if (!st) {
        Deno.mkdirSync(this.abs(sofar), { mode: 0o755 });
        Deno.chmodSync(this.abs(sofar), 0o755);
      } else if (st.isSymlink) {
        throw new BreakoutError(
          `invalid tar entry under ${JSON.stringify(rel)}: ${JSON.stringify(sofar)} is a symlink`,
        );
      } else if (!st.isDirectory) {
        throw new ImageError(
          "invalid",
          `invalid tar entry under ${rel}: ${sofar} is not a directory`,
        );
      }
      this.#dirs.add(sofar);
    }
  }

  private removeExisting(rel: string): void {
    const st = lstatOrNull(this.abs(rel));
    if (!st) return;
    Deno.removeSync(this.abs(rel), { recursive: st.isDirectory });
    if (st.isDirectory) {
      for (const d of this.#dirs) if (d === rel || d.startsWith(rel + "/")) this.#dirs.delete(d);
    }
  }
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) { /* discard */ }
}

/**
 * Just enough tar for `docker cp`: reading the daemon's archives (ustar,
 * GNU long names, PAX headers) and writing ustar with PAX records for long
 * names, for regular files, directories, symlinks and hard links.
 */

export type EntryType = "file" | "dir" | "symlink" | "link" | "other";

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

const te = new TextEncoder();
const td = new TextDecoder();

function octal(field: Uint8Array): number {
  // Base-256 for large values (GNU): the high bit of the first byte set.
  if (field[0] & 0x80) {
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const s = td.decode(field).replace(/\0.*$/s, "").trim();
  return s ? parseInt(s, 8) : 0;
}

function cstring(field: Uint8Array): string {
  const end = field.indexOf(0);
  return td.decode(end < 0 ? field : field.subarray(0, end));
}

function typeOf(flag: number): EntryType {
  switch (flag) {
    case 0:
    case 48: // '0'
    case 55: // '7'
      return "file";
    case 53: // '5'
      return "dir";
    case 50: // '2'
      return "symlink";
    case 49: // '1'
      return "link";
    default:
      return "other";
  }
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(32, off);
    if (sp < 0) break;
    const len = Number(td.decode(data.subarray(off, sp)));
    if (!len) break;
    const rec = td.decode(data.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf("=");
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** Reads a byte stream as tar entries; `body` must be consumed before the next entry. */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<{ header: TarHeader; body: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  let buf = new Uint8Array(0);
  let done = false;
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n && !done) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const merged = new Uint8Array(buf.length + r.value.length);
      merged.set(buf);
      merged.set(r.value, buf.length);
      buf = merged;
    }
    return buf.length >= n;
  };
  const take = (n: number) => {
    const out = buf.slice(0, n);
    buf = buf.subarray(n);
    return out;
  };
  let pax: Record<string, string> = {};
  let longName: string | undefined, longLink: string | undefined;
  for (;;) {
    if (!await need(512)) return;
    const h = take(512);
    if (h.every((b) => b === 0)) return;
    const size = octal(h.subarray(124, 136));
    const flag = h[156];
    const padded = Math.ceil(size / 512) * 512;
    // Metadata entries: PAX (x, g) and GNU long name / link (L, K).
    if (flag === 120 || flag === 103 || flag === 76 || flag === 75) {
      if (!await need(padded)) throw new Error("unexpected EOF in tar archive");
      const data = take(padded).subarray(0, size);
      if (flag === 120) pax = { ...pax, ...parsePax(data) };
      if (flag === 76) longName = cstring(data);
      if (flag === 75) longLink = cstring(data);
      continue;
    }
    let name = cstring(h.subarray(0, 100));
    const magic = td.decode(h.subarray(257, 262));
    if (magic === "ustar") {
      const prefix = cstring(h.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    const header: TarHeader = {
      name: pax.path ?? longName ?? name,
      type: typeOf(flag),
      mode: octal(h.subarray(100, 108)),
      uid: pax.uid ? Number(pax.uid) : octal(h.subarray(108, 116)),
      gid: pax.gid ? Number(pax.gid) : octal(h.subarray(116, 124)),
      size: pax.size ? Number(pax.size) : size,
      mtime: pax.mtime ? Number(pax.mtime) : octal(h.subarray(136, 148)),
      linkname: pax.linkpath ?? longLink ?? cstring(h.subarray(157, 257)),
    };
    pax = {};
    longName = longLink = undefined;
    const realSize = header.size;
    const realPadded = Math.ceil(realSize / 512) * 512;
    let left = realSize;
    let consumed = false;
    const body = (async function* () {
      while (left > 0) {
        if (!buf.length && !await need(1)) throw new Error("unexpected EOF in tar archive");
        const n = Math.min(left, buf.length);
        left -= n;
        yield take(n);
      }
      consumed = true;
    })();
    yield { header, body };
    if (!consumed) { for await (const _ of body) { /* skip the unread rest */ } }
    const pad = realPadded - realSize;
    if (pad && !await need(pad)) throw new Error("unexpected EOF in tar archive");
    take(pad);
  }
}

function field(s: string, len: number): Uint8Array {
  const b = new Uint8Array(len);
  b.set(te.encode(s).subarray(0, len));
  return b;
}

function octalField(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, "0");
}

const TYPEFLAG: Record<EntryType, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  dir: "5",
  other: "0",
};

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len++;
  return `${len}${body}`;
}

function rawHeader(h: TarHeader, name: string, linkname: string, flag: string): Uint8Array {
  const b = new Uint8Array(512);
  b.set(field(name, 100), 0);
  b.set(field(octalField(h.mode & 0o7777, 8), 8), 100);
  b.set(field(octalField(h.uid, 8), 8), 108);
  b.set(field(octalField(h.gid, 8), 8), 116);
  b.set(field(octalField(h.size, 12), 12), 124);
  b.set(field(octalField(Math.floor(h.mtime), 12), 12), 136);
  b.set(te.encode("        "), 148);
  b.set(te.encode(flag), 156);
  b.set(field(linkname, 100), 157);
  b.set(te.encode("ustar\x0000"), 257);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(field(octalField(sum, 7) + "\0", 8), 148);
  return b;
}

/** The header block(s) of one entry: a PAX record first when a name does not fit. */
export function tarHeader(h: TarHeader): Uint8Array {
  const name = h.type === "dir" && !h.name.endsWith("/") ? h.name + "/" : h.name;
  const records: string[] = [];
  if (te.encode(name).length > 100) records.push(paxRecord("path", name));
  if (te.encode(h.linkname).length > 100) records.push(paxRecord("linkpath", h.linkname));
  const main = rawHeader(h, name, h.linkname, TYPEFLAG[h.type]);
  if (!records.length) return main;
  const data = te.encode(records.join(""));
  const paxHead = rawHeader(
    { ...h, size: data.length, mode: 0o644 },
    "PaxHeaders/" + name.slice(0, 80),
    "",
    "x",
  );
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512 + 512);
  out.set(paxHead, 0);
  out.set(data, 512);
  out.set(main, out.length - 512);
  return out;
}

/** Zero padding after `size` bytes of data. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((512 - size % 512) % 512);
}

/** The end of an archive: two zero blocks. */
export const TAR_END = new Uint8Array(1024);

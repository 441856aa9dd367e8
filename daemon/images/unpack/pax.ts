/**
 * PAX extended headers decoded byte-exact. tar-stream 3 decodes every PAX
 * value as UTF-8, which corrupts binary extended attributes
 * (`security.capability`); {@link rawPaxDecoding} swaps in a decoder that keeps
 * `SCHILY.xattr.*` (and libarchive's base64 `LIBARCHIVE.xattr.*`) values as
 * bytes under {@link XATTRS}.
 */
import type { Extract } from "tar-stream";

/** Key of the decoded PAX record map holding `Map<xattr name, bytes>`. */
export const XATTRS = "berth.xattrs";

const decoder = new TextDecoder();

export function decodePax(buf: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const xattrs = new Map<string, Uint8Array>();
  let off = 0;
  while (off < buf.length) {
    let sp = off;
    while (sp < buf.length && buf[sp] !== 0x20) sp++;
    const len = parseInt(decoder.decode(buf.subarray(off, sp)), 10);
    if (!len || off + len > buf.length) break;
    const record = buf.subarray(sp + 1, off + len - 1); // without the trailing "\n"
    const eq = record.indexOf(0x3d);
    if (eq === -1) break;
    const key = decoder.decode(record.subarray(0, eq));
    const value = record.subarray(eq + 1);
    if (key.startsWith("SCHILY.xattr.")) {
      xattrs.set(key.slice("SCHILY.xattr.".length), value.slice());
    } else if (key.startsWith("LIBARCHIVE.xattr.")) {
      const name = decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length));
      const bin = atob(decoder.decode(value));
      xattrs.set(name, Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    } else {
      out[key] = decoder.decode(value);
    }
    off += len;
  }
  if (xattrs.size) out[XATTRS] = xattrs;
  return out;
}

interface ExtractInternals {
  _header: { type: string };
  _pax: Record<string, unknown> | null;
  _paxGlobal: Record<string, unknown> | null;
  _decodeLongHeader(buf: Uint8Array): void;
}

/**
 * Makes `extract` (tar-stream 3.2.x, pinned in deno.json) decode PAX headers
 * with {@link decodePax}. Global headers still apply to each entry.
 */
export function rawPaxDecoding(extract: Extract): Extract {
  const ex = extract as unknown as ExtractInternals;
  const original = ex._decodeLongHeader.bind(ex);
  ex._decodeLongHeader = (buf: Uint8Array) => {
    switch (ex._header.type) {
      case "pax-global-header":
        ex._paxGlobal = decodePax(buf);
        return;
      case "pax-header": {
        const local = decodePax(buf);
        ex._pax = ex._paxGlobal === null ? local : { ...ex._paxGlobal, ...local };
        return;
      }
      default:
        original(buf);
    }
  };
  return extract;
}

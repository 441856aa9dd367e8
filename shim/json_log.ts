/**
 * Docker's json-file log driver, written by the shim: one JSON object per
 * line (`{"log":"...\n","stream":"stdout","time":"<RFC 3339 nano>"}`), a line
 * cut at 16 KiB without its newline (a partial line, as Docker does), and
 * size-based rotation to `<path>.1` ... `<path>.<max-file - 1>`.
 *
 * Works on bytes, not strings: a container printing `yes` makes tens of
 * millions of tiny lines, and the shim must keep up with it (the container
 * blocks on a full pipe otherwise). Each chunk read becomes one write(2).
 * Escaping is Docker's (jsonlog.ffjsonWriteJSONBytesAsString): `"` `\` \n \r
 * with a backslash, other control bytes and `<` `>` `&` as \u00XX, invalid
 * UTF-8 as \ufffd, U+2028/U+2029 escaped.
 *
 * Writes are synchronous appends to a local file: they never wait for a
 * daemon, so a container's output always drains.
 */
import type { LogConfig } from "./api.ts";
import { nowRFC3339Nano } from "./records.ts";

export type Stream = "stdout" | "stderr";

/** Docker's copier buffer: a longer line is logged in pieces of this size. */
export const MAX_LINE = 16 * 1024;
const encoder = new TextEncoder();
const PREFIX = encoder.encode('{"log":"');
const HEX = encoder.encode("0123456789abcdef");
const BS = 0x5c, QUOTE = 0x22, NL = 0x0a;
/** An output buffer larger than this is dropped when the output pauses (idle shims stay small). */
const SHRINK_ABOVE = 256 << 10;

/** Per byte below 0x80: 0 copy as is, 1 backslash + the byte, 2 \u00XX. */
const ASCII_ESCAPE = new Uint8Array(128);
for (let b = 0; b < 0x20; b++) ASCII_ESCAPE[b] = 2;
for (const c of "<>&") ASCII_ESCAPE[c.charCodeAt(0)] = 2;
ASCII_ESCAPE[QUOTE] =
  ASCII_ESCAPE[BS] =
  ASCII_ESCAPE[NL] =
  ASCII_ESCAPE[0x0d] =
    1;

/** A growable byte buffer. */
class Bytes {
  buf = new Uint8Array(0);
  len = 0;
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 4096);
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  put(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

/** Length of the valid UTF-8 sequence at s[i] (a byte >= 0x80), or 0 if invalid. */
function utf8Length(s: Uint8Array, i: number, end: number): number {
  const b = s[i];
  const cont = (j: number, lo = 0x80, hi = 0xbf) => j < end && s[j] >= lo && s[j] <= hi;
  if (b >= 0xc2 && b <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80, hi = b === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80, hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Where {@link escapeLine} stopped: the index after the line's last byte. */
let lineEnd = 0;
/** Whether that line ended with its newline. */
let lineDone = false;

/**
 * Writes s[start, ...) into buf at o as the inside of a JSON string, escaped
 * as Docker does, up to and including the first newline or up to `limit`.
 * Returns the new output offset; sets lineEnd and lineDone. `buf` must have
 * room for 6 bytes per input byte.
 */
function escapeLine(
  buf: Uint8Array,
  o: number,
  s: Uint8Array,
  start: number,
  limit: number,
): number {
  let i = start;
  while (i < limit) {
    const b = s[i];
    if (b < 0x80) {
      const kind = ASCII_ESCAPE[b];
      if (kind === 0) {
        buf[o++] = b;
      } else if (kind === 1) {
        buf[o++] = BS;
        if (b === NL) {
          buf[o++] = 0x6e;
          lineEnd = i + 1;
          lineDone = true;
          return o;
        }
        buf[o++] = b === 0x0d ? 0x72 : b;
      } else {
        buf[o++] = BS, buf[o++] = 0x75, buf[o++] = 0x30, buf[o++] = 0x30;
        buf[o++] = HEX[b >> 4], buf[o++] = HEX[b & 15];
      }
      i++;
      continue;
    }
    const n = utf8Length(s, i, limit);
    if (n === 0) {
      // \ufffd
      buf[o++] = BS, buf[o++] = 0x75, buf[o++] = 0x66, buf[o++] = 0x66;
      buf[o++] = 0x66, buf[o++] = 0x64;
      i++;
    } else if (n === 3 && b === 0xe2 && s[i + 1] === 0x80 && (s[i + 2] & 0xfe) === 0xa8) {
      // U+2028 / U+2029
      buf[o++] = BS, buf[o++] = 0x75, buf[o++] = 0x32, buf[o++] = 0x30, buf[o++] = 0x32;
      buf[o++] = s[i + 2] === 0xa8 ? 0x38 : 0x39;
      i += 3;
    } else {
      for (let k = 0; k < n; k++) buf[o++] = s[i + k];
      i += n;
    }
  }
  lineEnd = i;
  lineDone = false;
  return o;
}

/** Copies small arrays faster than set(). */
function copy(buf: Uint8Array, o: number, b: Uint8Array): number {
  for (let k = 0; k < b.length; k++) buf[o++] = b[k];
  return o;
}

export class JsonLog {
  #file: Deno.FsFile;
  /** Bytes in the file plus bytes buffered in #out. */
  #size: number;
  #out = new Bytes();
  #shrink?: ReturnType<typeof setTimeout>;
  #partial: Record<Stream, Uint8Array> = { stdout: new Uint8Array(0), stderr: new Uint8Array(0) };

  constructor(readonly cfg: LogConfig) {
    this.#file = Deno.openSync(cfg.path, { append: true, create: true, mode: 0o640 });
    this.#size = this.#file.statSync().size;
  }

  /** Logs the complete lines of `chunk`; keeps an unterminated rest for the next chunk. */
  write(stream: Stream, chunk: Uint8Array): void {
    let data = chunk;
    const partial = this.#partial[stream];
    if (partial.length) {
      data = new Uint8Array(partial.length + chunk.length);
      data.set(partial);
      data.set(chunk, partial.length);
    }
    const pos = this.#lines(data, 0, false, this.#tail(stream));
    // Copied: the caller reuses its buffer.
    this.#partial[stream] = data.slice(pos);
    this.#flush();
  }

  /** Logs what is left of an unterminated last line. */
  flush(stream: Stream): void {
    const rest = this.#partial[stream];
    this.#partial[stream] = new Uint8Array(0);
    if (rest.length) this.#lines(rest, 0, true, this.#tail(stream));
    this.#flush();
  }

  close(): void {
    this.flush("stdout");
    this.flush("stderr");
    clearTimeout(this.#shrink);
    this.#file.close();
  }

  /** `","stream":"stdout","time":"..."}\n`: one time per chunk read, as the lines arrived together. */
  #tail(stream: Stream): Uint8Array {
    return encoder.encode(`","stream":"${stream}","time":"${nowRFC3339Nano()}"}\n`);
  }

  /**
   * Logs the lines of data[pos, ...); an unterminated last line shorter than
   * MAX_LINE is logged only if `all`. Returns where the unlogged rest starts.
   */
  #lines(data: Uint8Array, pos: number, all: boolean, tail: Uint8Array): number {
    const out = this.#out;
    const max = this.cfg.maxSize ?? 0;
    while (pos < data.length) {
      const limit = Math.min(data.length, pos + MAX_LINE);
      out.reserve((limit - pos) * 6 + PREFIX.length + tail.length);
      const lineStart = out.len;
      let o = escapeLine(out.buf, copy(out.buf, lineStart, PREFIX), data, pos, limit);
      if (!lineDone && limit - pos < MAX_LINE && !all) break;
      out.buf.set(tail, o);
      o += tail.length;
      out.len = o;
      const lineLen = o - lineStart;
      if (max > 0 && this.#size > 0 && this.#size + lineLen > max) {
        // The lines before this one finish the current file.
        this.#writeOut(out.buf.subarray(0, lineStart));
        this.#rotate();
        out.buf.copyWithin(0, lineStart, o);
        out.len = lineLen;
      }
      this.#size += lineLen;
      pos = lineEnd;
    }
    return pos;
  }

  #flush(): void {
    this.#writeOut(this.#out.buf.subarray(0, this.#out.len));
    // A burst grew the buffer: give the memory back once the output is quiet.
    if (this.#out.buf.length > SHRINK_ABOVE) {
      clearTimeout(this.#shrink);
      const timer = setTimeout(() => this.#out = new Bytes(), 1000);
      Deno.unrefTimer(timer);
      this.#shrink = timer;
    }
  }

  #writeOut(bytes: Uint8Array): void {
    let off = 0;
    try {
      while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    } finally {
      // Dropped on an error (a full disk): the output must keep draining.
      this.#out.len = 0;
    }
  }

  #rotate(): void {
    const keep = Math.max(1, this.cfg.maxFile ?? 1);
    this.#file.close();
    const p = this.cfg.path;
    // With max-file=1 the file just starts again, as Docker's does.
    for (let i = keep - 1; i >= 1; i--) {
      try {
        Deno.renameSync(i === 1 ? p : `${p}.${i - 1}`, `${p}.${i}`);
      } catch { /* not there yet */ }
    }
    // Truncated: if a rename failed, the size bound still holds.
    this.#file = Deno.openSync(p, { write: true, truncate: true, create: true, mode: 0o640 });
    this.#size = 0;
  }
}

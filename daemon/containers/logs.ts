/**
 * `GET /containers/{id}/logs` from Docker's json-file log (what the shim
 * writes, see shim/json_log.ts): one `{"log","stream","time"}` object per
 * line, rotated to `<path>.1` ... `<path>.N` (oldest last).
 *
 * Docker's semantics: `tail` counts the last N lines of both streams
 * together, then `since` (inclusive) and `until` (reading stops at the first
 * line after it) filter; the streams asked for are written as stdcopy frames
 * (or raw with a TTY); `timestamps` prefixes RFC 3339 with nine fraction
 * digits and a space. `follow` only follows a running container: new lines
 * are polled for (rotation and truncation handled) until the container stops
 * and the file is drained, or the client goes away.
 *
 * Every file is opened before reading starts, so a rotation during the read
 * cannot make lines disappear or repeat.
 */
import { ApiError } from "../api/errors.ts";

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  /** Nanoseconds since the epoch; lines before it are skipped. */
  since?: bigint;
  /** Nanoseconds since the epoch; reading ends at the first line after it. */
  until?: bigint;
  timestamps: boolean;
  /** Docker's `details`: the line's attributes (log-opt labels/env) before it. */
  details: boolean;
  /** Last N lines; negative for all. */
  tail: number;
}

export interface LogSource {
  /** The json-file log (`record.LogPath`); empty or missing gives no output. */
  path: string;
  /** Raw bytes instead of stdcopy frames (the container has a TTY). */
  tty: boolean;
  /** Asked every poll while following; false ends the stream once the file is drained. */
  running(): boolean;
}

/** A json-file line as Docker writes it (jsonlog.JSONLog). */
interface JsonLogLine {
  log: string;
  stream: string;
  time: string;
  attrs?: Record<string, string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NL = 0x0a;
const CHUNK = 64 * 1024;
const POLL_MS = 150;

/**
 * Docker's timetypes.ParseTimestamps: `seconds[.fraction]` to nanoseconds;
 * errors carry strconv's wording (dockerd answers them with a 500).
 */
export function parseUnixTimestamp(value: string): bigint {
  const [sec, frac] = splitOnce(value, ".");
  const syntax = (s: string) =>
    new ApiError(500, `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  if (!/^[+-]?\d+$/.test(sec)) throw syntax(sec);
  let ns = BigInt(sec) * 1_000_000_000n;
  if (frac !== undefined) {
    if (!/^[+-]?\d+$/.test(frac)) throw syntax(frac);
    const digits = frac.replace(/^[+-]/, "");
    const n = BigInt(frac);
    // n * 10^(9 - len(frac)), as Docker scales what it takes for nanoseconds.
    ns += digits.length <= 9
      ? n * 10n ** BigInt(9 - digits.length)
      : n / 10n ** BigInt(digits.length - 9);
  }
  return ns;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i === -1 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/**
 * A json-file time: nanoseconds since the epoch and Go's RFC3339NanoFixed
 * rendering (nine fraction digits, the zone it was written in).
 */
export function parseLogTime(time: string): { ns: bigint; fixed: string } | undefined {
  const m = TIME_RE.exec(time);
  if (!m) return undefined;
  const [, wall, frac = "", zone] = m;
  const ms = Date.parse(wall + zone);
  if (Number.isNaN(ms)) return undefined;
  const nanos = BigInt(frac.padEnd(9, "0"));
  const utc = zone === "+00:00" || zone === "-00:00" ? "Z" : zone;
  return {
    ns: BigInt(ms / 1000) * 1_000_000_000n + nanos,
    fixed: `${wall}.${frac.padEnd(9, "0")}${utc}`,
  };
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+").replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** One stdcopy frame: stream byte, three zeros, big-endian length, payload. */
export function frame(stream: 1 | 2, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** Turns log lines into what the client reads; `undefined` from `line` means "stop here". */
class Formatter {
  constructor(readonly opts: LogsOptions, readonly tty: boolean) {}

  /** The bytes for one json-file line: empty when filtered out, null when past `until`. */
  line(raw: Uint8Array): Uint8Array | null {
    let entry: JsonLogLine;
    try {
      entry = JSON.parse(decoder.decode(raw));
    } catch {
      return EMPTY; // a torn or foreign line: skipped
    }
    if (typeof entry?.log !== "string") return EMPTY;
    const t = parseLogTime(String(entry.time));
    if (t && this.opts.since !== undefined && t.ns < this.opts.since) return EMPTY;
    if (t && this.opts.until !== undefined && t.ns > this.opts.until) return null;
    const stream = entry.stream === "stderr" ? 2 : entry.stream === "stdout" ? 1 : 0;
    if (stream === 1 && !this.opts.stdout || stream === 2 && !this.opts.stderr || !stream) {
      return EMPTY;
    }
    let text = entry.log;
    if (this.opts.details) {
      const attrs = Object.entries(entry.attrs ?? {}).sort(([a], [b]) => a < b ? -1 : 1)
        .map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(",");
      text = `${attrs} ${text}`;
    }
    if (this.opts.timestamps) text = `${t?.fixed ?? "0001-01-01T00:00:00.000000000Z"} ${text}`;
    const payload = encoder.encode(text);
    return this.tty ? payload : frame(stream as 1 | 2, payload);
  }
}

const EMPTY = new Uint8Array(0);

/** An open log file and how far it has been read. */
interface OpenLog {
  file: Deno.FsFile;
  ino: number | null;
  offset: number;
  /** Bytes read past the last newline (a line still being written). */
  rest: Uint8Array;
}

function openLog(path: string): OpenLog | undefined {
  try {
    const file = Deno.openSync(path, { read: true });
    return { file, ino: file.statSync().ino, offset: 0, rest: EMPTY };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function inode(path: string): number | null | undefined {
  try {
    return Deno.statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** The rotated files then the live one, oldest first, all opened now. */
function openAll(path: string): OpenLog[] {
  const out: OpenLog[] = [];
  for (let i = 1;; i++) {
    const f = openLog(`${path}.${i}`);
    if (!f) break;
    out.unshift(f);
  }
  const live = openLog(path);
  if (live) out.push(live);
  return out;
}

/** Where the last `n` complete lines start: [file index, offset]. */
function tailStart(files: OpenLog[], n: number): [number, number] {
  const buf = new Uint8Array(CHUNK);
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i].file;
    const size = f.statSync().size;
    // Only complete lines count: the end is just after the file's last newline.
    let end = -1;
    let pos = size;
    while (pos > 0 && n >= 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      f.seekSync(pos, Deno.SeekMode.Start);
      readFull(f, buf.subarray(0, len));
      for (let k = len - 1; k >= 0; k--) {
        if (buf[k] !== NL) continue;
        if (end === -1) {
          end = pos + k;
          continue;
        }
        if (--n === 0) return [i, pos + k + 1];
      }
    }
    if (end !== -1) n--; // the file's first line
    if (n <= 0) return [i, 0];
  }
  return [0, 0];
}

function readFull(f: Deno.FsFile, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const n = f.readSync(buf.subarray(off));
    if (n === null || n === 0) break;
    off += n;
  }
}

/** Reads what `log` has from its offset to the current end; returns the complete lines' bytes. */
async function readNew(
  log: OpenLog,
  fmt: Formatter,
): Promise<{ out: Uint8Array[]; stop: boolean }> {
  const out: Uint8Array[] = [];
  await log.file.seek(log.offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(CHUNK);
  for (;;) {
    const n = await log.file.read(buf);
    if (n === null || n === 0) return { out, stop: false };
    log.offset += n;
    let data = buf.subarray(0, n);
    if (log.rest.length) {
      const joined = new Uint8Array(log.rest.length + n);
      joined.set(log.rest);
      joined.set(data, log.rest.length);
      data = joined;
    }
    let start = 0;
    for (let nl = data.indexOf(NL); nl !== -1; nl = data.indexOf(NL, start)) {
      const bytes = fmt.line(data.subarray(start, nl));
      start = nl + 1;
      if (bytes === null) return { out, stop: true };
      if (bytes.length) out.push(bytes);
    }
    log.rest = data.slice(start);
    if (out.length >= 256) return { out, stop: false };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Files written after `current` once the live file was rotated: its
 * successors among `<path>.k ... <path>.1`, then the new live file.
 */
function successors(path: string, current: OpenLog): OpenLog[] {
  const rotated: string[] = [];
  for (let i = 1; inode(`${path}.${i}`) !== undefined; i++) rotated.push(`${path}.${i}`);
  const at = rotated.findIndex((p) => inode(p) === current.ino);
  // Not found: `current` was rotated away entirely; every file left is newer.
  const newer = (at === -1 ? rotated : rotated.slice(0, at)).reverse();
  const out: OpenLog[] = [];
  for (const p of [...newer, path]) {
    const f = openLog(p);
    if (f) out.push(f);
  }
  return out;
}

async function* chunks(
  src: LogSource,
  opts: LogsOptions,
  follow: boolean,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const fmt = new Formatter(opts, src.tty);
  const files = src.path ? openAll(src.path) : [];
  try {
    if (opts.tail === 0) {
      // Nothing old; following starts at the live file's end.
      for (const f of files.splice(0, files.length - 1)) f.file.close();
      if (files[0]) files[0].offset = files[0].file.statSync().size;
    } else if (opts.tail > 0 && files.length) {
      const [index, offset] = tailStart(files, opts.tail);
      for (const f of files.splice(0, index)) f.file.close();
      files[0].offset = offset;
    }
    // Everything that exists now.
    while (files.length) {
      const log = files[0];
      for (;;) {
        if (signal.aborted) return;
        const { out, stop } = await readNew(log, fmt);
        if (out.length) yield concat(out);
        if (stop) return;
        if (!out.length) break;
      }
      if (files.length === 1) break;
      files.shift()!.file.close();
    }
    if (!follow || !src.path) return;

    // Following: the live file grows, is rotated or truncated, until the container stops.
    for (;;) {
      if (signal.aborted) return;
      const alive = src.running();
      let current = files[0];
      if (!current) {
        const f = openLog(src.path);
        if (f) files.push(current = f);
      }
      if (current) {
        for (;;) {
          const { out, stop } = await readNew(current, fmt);
          if (out.length) yield concat(out);
          if (stop || signal.aborted) return;
          if (!out.length) break;
        }
        const ino = inode(src.path);
        if (ino !== undefined && ino !== current.ino) {
          const next = successors(src.path, current);
          files.shift()!.file.close();
          // The newer files are read in order; the last one is the live file.
          while (next.length > 1) {
            const f = next.shift()!;
            for (;;) {
              const { out, stop } = await readNew(f, fmt);
              if (out.length) yield concat(out);
              if (stop || signal.aborted) {
                f.file.close();
                for (const g of next) g.file.close();
                return;
              }
              if (!out.length) break;
            }
            f.file.close();
          }
          files.push(...next);
          continue;
        }
        // max-file=1 rotation truncates the file in place.
        if (current.file.statSync().size < current.offset) {
          current.offset = 0;
          current.rest = EMPTY;
          continue;
        }
      }
      if (!alive) return;
      await sleep(POLL_MS, signal);
    }
  } finally {
    for (const f of files) f.file.close();
  }
}

/**
 * The body of a logs answer. `signal` (the request's) ends a follow when the
 * client goes away; cancelling the stream does the same.
 */
export function logStream(
  src: LogSource,
  opts: LogsOptions,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const abort = new AbortController();
  signal?.addEventListener("abort", () => abort.abort(), { once: true });
  // Docker follows only a running container (a stopped one's logger was made just to read).
  const it = chunks(src, opts, opts.follow && src.running(), abort.signal);
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const r = await it.next();
        if (r.done) ctl.close();
        else ctl.enqueue(r.value);
      } catch (e) {
        ctl.error(e);
      }
    },
    async cancel() {
      abort.abort();
      await it.return(undefined);
    },
  });
}

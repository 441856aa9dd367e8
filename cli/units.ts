/**
 * Sizes, durations and timestamps the way Docker prints and parses them
 * (github.com/docker/go-units and the CLI's timetypes).
 */
import { parseGoDuration } from "./flags.ts";

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/** Go's "%.Ng": N significant digits, trailing zeros dropped, e+NN past N digits. */
export function goG(n: number, precision: number): string {
  if (n === 0) return "0";
  const exp = Math.floor(Math.log10(Math.abs(Number(n.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mant, e] = n.toExponential(precision - 1).split("e");
    const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
    const en = Number(e);
    return `${m}e${en < 0 ? "-" : "+"}${String(Math.abs(en)).padStart(2, "0")}`;
  }
  return String(Number(n.toPrecision(precision)));
}

const g = goG;

function sized(size: number, base: number, units: string[], precision = 4): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return g(size, precision) + units[i];
}

/** go-units HumanSizeWithPrecision: decimal units ("1.23MB"); HumanSize uses 4 digits. */
export function humanSize(bytes: number, precision = 4): string {
  return sized(bytes, 1000, DECIMAL, precision);
}

/** go-units BytesSize: binary units ("1.5GiB"). */
export function bytesSize(bytes: number): string {
  return sized(bytes, 1024, BINARY);
}

/** go-units RAMInBytes: "512m", "1.5g", "100" (binary multiples). */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const n = Number(m[1]);
  if (Number.isNaN(n)) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };
  const e = m[2] ? mult[m[2].toLowerCase()] : 0;
  return Math.trunc(n * 1024 ** e);
}

/** go-units HumanDuration: "Less than a second", "5 minutes", "About an hour". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/**
 * The CLI's timetypes.GetTimestamp: a Go duration ("10m") is that long before
 * `now`; an RFC 3339 / date value (local time without a zone) becomes
 * "seconds.nanoseconds"; a Unix timestamp passes through.
 */
export function parseTimestamp(value: string, now = Date.now()): string {
  if (value !== "0") {
    try {
      const d = parseGoDuration(value);
      return String(Math.floor((now - d) / 1000));
    } catch { /* not a duration */ }
  }
  let iso = value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) iso = `${value}T00:00:00`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(value)) iso = `${value}:00:00`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) iso = `${value}:00`;
  const t = /^\d{4}-\d{2}-\d{2}/.test(iso) ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) {
    if (value.includes("-")) throw new Error(`parsing time "${value}": cannot parse`);
    if (!/^\d+(\.\d+)?$/.test(value)) {
      throw new Error(`failed to parse value as time or duration: "${value}"`);
    }
    return value;
  }
  const frac = /\.(\d+)/.exec(iso.slice(19))?.[1] ?? "";
  const nanos = (frac + "000000000").slice(0, 9);
  return `${Math.floor(t / 1000)}.${nanos}`;
}

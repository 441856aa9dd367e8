/**
 * Times in query parameters and filters as dockerd reads them: Go's
 * `timetypes.GetTimestamp` (a duration back from now, an RFC 3339 date or
 * time in local time or with a zone, or unix seconds as they are) and
 * `ParseTimestamps` ("seconds[.fraction]", see containers/logs.ts).
 */
import { badRequest } from "./errors.ts";
import { parseUnixTimestamp } from "../containers/logs.ts";

export { parseUnixTimestamp };

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration in nanoseconds; undefined when `s` is no duration. */
export function parseGoDuration(s: string): number | undefined {
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const [, n, unit] of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(n) * UNIT_NS[unit];
  }
  return m[1] === "-" ? -total : total;
}

const TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?([zZ]|[+-]\d{2}:\d{2})?$/;

/**
 * Go's GetTimestamp: `value` as "seconds.nanoseconds" for the API, or as it
 * is when it already is unix seconds.
 */
export function getTimestamp(value: string, nowMs = Date.now()): string {
  if (value !== "0") {
    const d = parseGoDuration(value);
    if (d !== undefined) return String(Math.floor((nowMs - d / 1e6) / 1000));
  }
  const m = TIME_RE.exec(value);
  if (m) {
    const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
    let ms: number;
    if (!zone) ms = new Date(...parts).getTime(); // local time, as dockerd's own zone
    else {
      ms = Date.UTC(...parts);
      if (zone !== "Z" && zone !== "z") {
        const sign = zone[0] === "-" ? -1 : 1;
        ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      }
    }
    if (!Number.isNaN(ms)) {
      return `${Math.floor(ms / 1000)}.${frac.padEnd(9, "0")}`;
    }
  }
  if (value.includes("-") || !/^\d+(\.\d+)?$/.test(value)) {
    throw badRequest(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  }
  return value;
}

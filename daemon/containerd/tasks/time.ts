/** Times as the shim writes them (RFC 3339 with nanoseconds) and as protobuf carries them. */

/** google.protobuf.Timestamp as proto-loader takes it. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Now, RFC 3339 with nanosecond digits. */
export function nowRfc3339(): string {
  const ms = Date.now();
  const frac = String(ms % 1000).padStart(3, "0") + "000000";
  return new Date(ms).toISOString().replace(/\.\d+Z$/, `.${frac}Z`);
}

/** "2026-11-22T10:00:00.123456789Z" → { seconds, nanos }; undefined for a missing time. */
export function toTimestamp(rfc3339: string | undefined): Timestamp | undefined {
  if (!rfc3339) return undefined;
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return {
    seconds: Math.floor(ms / 1000),
    nanos: Number((m[2] ?? "").padEnd(9, "0").slice(0, 9)),
  };
}

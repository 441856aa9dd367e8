/** Times as containerd carries them: google.protobuf.Timestamp, stored as RFC 3339 with nanoseconds. */

export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Now, to the microsecond (what the clock gives). */
export function now(): Timestamp {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 };
}

export function toRfc3339(t: Timestamp): string {
  const base = new Date(t.seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(t.nanos).padStart(9, "0")}Z`;
}

export function nowRfc3339(): string {
  return toRfc3339(now());
}

/** RFC 3339 (any fraction, Z or offset) → Timestamp; undefined if unparsable. */
export function fromRfc3339(s: string | undefined): Timestamp | undefined {
  if (!s) return undefined;
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? "").padEnd(9, "0").slice(0, 9)) };
}

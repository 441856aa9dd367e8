/** Durable small files (records, exit statuses) and nanosecond timestamps. */
import { clockRealtime } from "../runtime/linux/libc.ts";

const encoder = new TextEncoder();

/**
 * Writes JSON so that a crash at any moment leaves the old or the new
 * content: temp file, fsync, rename, fsync of the directory.
 */
export function writeJsonDurable(path: string, data: unknown): void {
  const tmp = `${path}.tmp`;
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    f.writeSync(encoder.encode(JSON.stringify(data)));
    f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, path);
  const dir = Deno.openSync(path.slice(0, path.lastIndexOf("/")) || "/", { read: true });
  try {
    dir.syncSync();
  } finally {
    dir.close();
  }
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch {
    return undefined;
  }
}

/** RFC 3339 in UTC with nanoseconds, as Docker and containerd write times. */
export function nowRFC3339Nano(): string {
  const { sec, nsec } = clockRealtime();
  const whole = new Date(sec * 1000).toISOString().slice(0, 19); // 2026-11-25T10:00:00
  return `${whole}.${String(nsec).padStart(9, "0")}Z`;
}

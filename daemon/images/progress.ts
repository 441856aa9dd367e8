/**
 * Docker's JSON progress stream: one JSON object per line, as
 * `docker pull` / `docker load` print them. The bar in `progress` is
 * rendered as dockerd renders it (jsonmessage.JSONProgress at width 200).
 */
import type { JsonMessage } from "./api_types.ts";

export type ProgressSink = (msg: JsonMessage) => void;

/** A sink that drops everything. */
export const discardProgress: ProgressSink = () => {};

/** go-units HumanSize: decimal units, 4 significant digits (`2.224MB`). */
export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** The bar: `[=====>      ]  1.2MB/2.3MB`. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = `[${"=".repeat(pct)}>${" ".repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total
    ? humanSize(current).padStart(8)
    : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** `{"status": s, "progressDetail": {}, "id": id}`, as pull prints per layer. */
export function layerStatus(id: string, status: string): JsonMessage {
  return { status, progressDetail: {}, id };
}

export function layerProgress(
  id: string,
  status: string,
  current: number,
  total: number,
): JsonMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** The error line that ends a failed stream. */
export function errorMessage(e: unknown): JsonMessage {
  const message = e instanceof Error ? e.message : String(e);
  return { errorDetail: { message }, error: message };
}

/** A JSON-lines encoder for an HTTP response body. */
export function jsonLine(msg: JsonMessage): string {
  return JSON.stringify(msg) + "\r\n";
}

/**
 * Emits at most one "Downloading"/"Extracting" line per interval per id (the
 * first and the last always go out).
 */
export class Throttle {
  #last = new Map<string, number>();
  constructor(private sink: ProgressSink, private intervalMs = 100) {}

  progress(id: string, status: string, current: number, total: number, force = false): void {
    const now = Date.now();
    const key = `${status}\0${id}`;
    const last = this.#last.get(key);
    if (!force && last !== undefined && now - last < this.intervalMs && current < total) return;
    this.#last.set(key, now);
    this.sink(layerProgress(id, status, current, total));
  }
}

/**
 * The daemon's JSON progress stream (pull, load, push), rendered as the
 * Docker CLI's jsonmessage does: on a terminal, one line per layer id updated
 * in place with a progress bar; otherwise plain lines, progress updates left
 * out. An `error` message ends the stream with that error.
 */
import type { HttpResponse } from "./http.ts";
import { humanSize } from "./units.ts";

export interface JsonMessage {
  stream?: string;
  status?: string;
  progress?: string;
  progressDetail?: {
    current?: number;
    total?: number;
    start?: number;
    units?: string;
    hidecounts?: boolean;
  };
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

/** An error message from the stream. */
export class JsonMessageError extends Error {}

const ESC = "\x1b[";

/** The bar and counts of one progress line (JSONProgress.String). */
export function progressString(
  p: NonNullable<JsonMessage["progressDetail"]>,
  width: number,
  now = Date.now(),
): string {
  const current = p.current ?? 0, total = p.total ?? 0;
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) {
    return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  }
  let percentage = Math.trunc(Math.trunc(current / total * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = "";
  if (width > 110) {
    bar = `[${"=".repeat(percentage)}>${" ".repeat(Math.max(0, 50 - percentage))}] `;
  }
  let numbers = "";
  if (!p.hidecounts) {
    if (!p.units) {
      numbers = current > total
        ? humanSize(current).padStart(8)
        : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
    } else {
      numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
    }
  }
  let left = "";
  if (current > 0 && p.start && percentage < 50) {
    const perEntry = (now - p.start * 1000) / current;
    left = " " + goDurationSeconds(Math.round((total - current) * perEntry / 1000));
  }
  return bar + numbers + left;
}

/** time.Duration.String() for whole seconds: "0s", "45s", "1m30s", "2h0m5s". */
function goDurationSeconds(s: number): string {
  if (s <= 0) return "0s";
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  if (h) return `${h}h${m}m${sec}s`;
  if (m) return `${m}m${sec}s`;
  return `${sec}s`;
}

export interface Writer {
  (s: string): void;
}

/** Renders one stream of messages to `out`; resolves when it ends, rejects on an error message. */
export async function displayJsonMessages(
  lines: AsyncIterable<string>,
  out: Writer,
  opts: { terminal: boolean; width?: number; onAux?: (aux: unknown) => void },
): Promise<void> {
  let ids = new Map<string, number>();
  const width = opts.width ?? 200;
  for await (const line of lines) {
    let jm: JsonMessage;
    try {
      jm = JSON.parse(line);
    } catch {
      throw new Error(`invalid character in progress stream: ${line.slice(0, 40)}`);
    }
    if (jm.aux !== undefined) {
      opts.onAux?.(jm.aux);
      continue;
    }
    let diff = 0;
    const hasProgress = jm.progressDetail !== undefined && jm.progressDetail !== null;
    if (jm.id && (hasProgress || jm.progress)) {
      let lineNo = ids.get(jm.id);
      if (lineNo === undefined) {
        lineNo = ids.size;
        ids.set(jm.id, lineNo);
        if (opts.terminal) out("\n");
      }
      diff = ids.size - lineNo;
      if (opts.terminal && diff > 0) out(`${ESC}${diff}A`);
    } else {
      ids = new Map();
    }
    if (jm.error || jm.errorDetail?.message) {
      throw new JsonMessageError(jm.errorDetail?.message || jm.error || "unknown error");
    }
    display(jm, out, opts.terminal, width);
    if (jm.id && opts.terminal && diff > 0) out(`${ESC}${diff}B`);
  }
}

function display(jm: JsonMessage, out: Writer, terminal: boolean, width: number): void {
  const hasProgress = jm.progressDetail !== undefined && jm.progressDetail !== null;
  const bar = hasProgress ? progressString(jm.progressDetail!, width) : "";
  let endl = "";
  if (terminal && !jm.stream && hasProgress) {
    out(`${ESC}2K\r`);
    endl = "\r";
  } else if (hasProgress && bar !== "") {
    return; // progress bars only on a terminal
  }
  let s = "";
  if (jm.timeNano) s += new Date(jm.timeNano / 1e6).toISOString() + " ";
  else if (jm.time) s += new Date(jm.time * 1000).toISOString() + " ";
  if (jm.id) s += `${jm.id}: `;
  if (jm.from) s += `(from ${jm.from}) `;
  if (hasProgress && terminal) s += `${jm.status ?? ""} ${bar}${endl}`;
  else if (jm.progress) s += `${jm.status ?? ""} ${jm.progress}${endl}`;
  else if (jm.stream) s += `${jm.stream}${endl}`;
  else s += `${jm.status ?? ""}${endl}\n`;
  out(s);
}

/** Renders a response's progress stream. */
export async function displayResponse(
  res: HttpResponse,
  out: Writer,
  opts: { terminal: boolean; width?: number; onAux?: (aux: unknown) => void },
): Promise<void> {
  await displayJsonMessages(res.lines(), out, opts);
}

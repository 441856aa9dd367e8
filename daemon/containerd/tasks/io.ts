/**
 * A task's stdio as the shim takes it: the request's FIFO paths or file://
 * URIs, plus berth's own settings from container labels, since containerd's
 * API has no place for them:
 *
 * - `berth.log.path`: write Docker's json-file log of stdout/stderr there
 *   (the shim writes it, so the log keeps growing while containerd is down).
 * - `berth.log.max-size`: rotate at this size (bytes, or with k/m/g suffix).
 * - `berth.log.max-file`: files kept, the live one included.
 * - `berth.stdin.open` = "true": keep a stdin pipe for attach clients.
 * - `berth.stdin.once` = "true": close stdin when the first attach client's ends.
 */
import { invalidArgument } from "../context.ts";
import type { LogConfig, StdioConfig } from "../../../shim/api.ts";
import type { TaskIO } from "./store.ts";

export const LABELS = {
  logPath: "berth.log.path",
  logMaxSize: "berth.log.max-size",
  logMaxFile: "berth.log.max-file",
  openStdin: "berth.stdin.open",
  stdinOnce: "berth.stdin.once",
} as const;

/** "10m" → 10485760; plain digits are bytes. */
export function parseSize(s: string, label: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw invalidArgument(`label ${label}: invalid size "${s}" (e.g. 10m, 512k, 1048576)`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k"]!;
  return Number(m[1]) * mult;
}

function logConfig(labels: Record<string, string>): LogConfig | undefined {
  const path = labels[LABELS.logPath];
  if (!path) return undefined;
  if (!path.startsWith("/")) {
    throw invalidArgument(`label ${LABELS.logPath}: path must be absolute`);
  }
  const log: LogConfig = { path };
  const size = labels[LABELS.logMaxSize];
  if (size) log.maxSize = parseSize(size, LABELS.logMaxSize);
  const files = labels[LABELS.logMaxFile];
  if (files) {
    if (!/^\d+$/.test(files) || Number(files) < 1) {
      throw invalidArgument(`label ${LABELS.logMaxFile}: want a positive number, got "${files}"`);
    }
    log.maxFile = Number(files);
  }
  return log;
}

/** Checks one stdio address: a path (FIFO or file) or a file:// URI. */
function checkAddress(what: string, addr: string): void {
  if (!addr || addr.startsWith("/") || addr.startsWith("file://")) return;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(addr)?.[1];
  throw invalidArgument(
    scheme
      ? `${what}: unsupported stdio scheme "${scheme}" (paths and file:// are supported)`
      : `${what}: stdio path must be absolute: "${addr}"`,
  );
}

/** The init's stdio for the shim, from the request's stdio and the container's labels. */
export function initStdio(io: TaskIO, labels: Record<string, string>): StdioConfig {
  for (const k of ["stdin", "stdout", "stderr"] as const) checkAddress(k, io[k]);
  const stdio: StdioConfig = { terminal: io.terminal };
  if (io.stdin) stdio.stdin = io.stdin;
  if (io.stdout) stdio.stdout = io.stdout;
  if (io.stderr) stdio.stderr = io.stderr;
  const log = logConfig(labels);
  if (log) stdio.log = log;
  if (labels[LABELS.openStdin] === "true") stdio.openStdin = true;
  if (labels[LABELS.stdinOnce] === "true") stdio.stdinOnce = true;
  return stdio;
}

/** An exec'd process's stdio (no log: as in Docker, only the init is logged). */
export function execStdio(io: TaskIO): StdioConfig {
  return initStdio(io, {});
}

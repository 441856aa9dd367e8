/**
 * Docker's json-file log driver, written by the shim: one JSON object per
 * line (`{"log":"...\n","stream":"stdout","time":"<RFC 3339 nano>"}`), a line
 * cut at 16 KiB without its newline (a partial line, as Docker does), and
 * size-based rotation to `<path>.1` ... `<path>.<max-file - 1>`.
 *
 * Writes are synchronous appends to a local file: they never wait for a
 * daemon, so a container's output always drains.
 */
import type { LogConfig } from "./api.ts";
import { nowRFC3339Nano } from "./records.ts";

const MAX_LINE = 16 * 1024;
const encoder = new TextEncoder();

export class JsonLog {
  #file: Deno.FsFile;
  #size: number;
  #partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(readonly cfg: LogConfig) {
    this.#file = Deno.openSync(cfg.path, { append: true, create: true, mode: 0o640 });
    this.#size = this.#file.statSync().size;
  }

  write(stream: "stdout" | "stderr", chunk: Uint8Array): void {
    let text = this.#partial[stream] + this.#decoders[stream].decode(chunk, { stream: true });
    for (;;) {
      const nl = text.indexOf("\n");
      if (nl >= 0 && nl < MAX_LINE) {
        this.#emit(stream, text.slice(0, nl + 1));
        text = text.slice(nl + 1);
      } else if (text.length >= MAX_LINE) {
        this.#emit(stream, text.slice(0, MAX_LINE));
        text = text.slice(MAX_LINE);
      } else break;
    }
    this.#partial[stream] = text;
  }

  /** Writes what is left of an unterminated last line. */
  flush(stream: "stdout" | "stderr"): void {
    const rest = this.#partial[stream] + this.#decoders[stream].decode();
    this.#partial[stream] = "";
    if (rest) this.#emit(stream, rest);
  }

  close(): void {
    this.flush("stdout");
    this.flush("stderr");
    this.#file.close();
  }

  #emit(stream: string, log: string): void {
    const line = encoder.encode(
      JSON.stringify({ log, stream, time: nowRFC3339Nano() }) + "\n",
    );
    const max = this.cfg.maxSize ?? 0;
    if (max > 0 && this.#size > 0 && this.#size + line.length > max) this.#rotate();
    this.#file.writeSync(line);
    this.#size += line.length;
  }

  #rotate(): void {
    const keep = Math.max(1, this.cfg.maxFile ?? 1);
    this.#file.close();
    const p = this.cfg.path;
    if (keep === 1) {
      // One file only: start it again, as Docker's max-file=1.
      this.#file = Deno.openSync(p, { write: true, truncate: true, create: true, mode: 0o640 });
      this.#size = 0;
      return;
    }
    try {
      Deno.removeSync(`${p}.${keep - 1}`);
    } catch { /* not there yet */ }
    for (let i = keep - 2; i >= 1; i--) {
      try {
        Deno.renameSync(`${p}.${i}`, `${p}.${i + 1}`);
      } catch { /* not there yet */ }
    }
    Deno.renameSync(p, `${p}.1`);
    this.#file = Deno.openSync(p, { append: true, create: true, mode: 0o640 });
    this.#size = 0;
  }
}

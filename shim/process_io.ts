/**
 * A supervised process's stdio: where its output goes (json-file log, FIFOs
 * or files, attach clients) and where its input comes from. Output is read
 * continuously and fanned out; only the log is written synchronously, every
 * other destination is a {@link QueuedSink} that drops rather than blocks.
 */
import type { LogConfig, StdioConfig } from "./api.ts";
import { JsonLog } from "./json_log.ts";
import { QueuedSink } from "./sink.ts";
import { close, libc } from "../runtime/linux/libc.ts";
import { setWinsize } from "../runtime/linux/pty.ts";

export type Stream = "stdout" | "stderr";

/**
 * Read buffers: an idle process's pending reads hold a small one, a process
 * that fills it gets a pipe-sized one until its output slows down again.
 * (Every destination copies what it keeps, so a buffer is reused.)
 */
const SMALL_READ = 4096, BIG_READ = 64 * 1024;

function nextReadBuffer(
  buf: Uint8Array<ArrayBuffer>,
  got: number,
): Uint8Array<ArrayBuffer> {
  if (got === buf.length && buf.length < BIG_READ) return new Uint8Array(BIG_READ);
  if (got < SMALL_READ && buf.length > SMALL_READ) return new Uint8Array(SMALL_READ);
  return buf;
}

/** Docker's multiplexed stream header: [stream, 0, 0, 0, size u32 big-endian]. */
export function frame(stream: Stream, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out[0] = stream === "stdout" ? 1 : 2;
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

/** Something that receives a copy of the output (an attach client). */
export interface OutputClient {
  send(stream: Stream, data: Uint8Array): void;
  /** The output ended. */
  end(): void;
}

async function openSink(path: string, mode: "out" | "in"): Promise<Deno.FsFile> {
  if (path.startsWith("file://")) {
    return await Deno.open(path.slice("file://".length), { append: true, create: true });
  }
  // FIFOs (ctr's): opening waits for the other end, off the main thread.
  return mode === "out" ? await Deno.open(path, { write: true }) : await Deno.open(path);
}

export class ProcessIO {
  readonly clients = new Set<OutputClient>();
  readonly sinks: Record<Stream, QueuedSink[]> = { stdout: [], stderr: [] };
  log?: JsonLog;
  /** The pty master (terminal processes). */
  master?: number;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #pending: Promise<void>[] = [];
  #ended = false;

  constructor(readonly stdio: StdioConfig, log?: LogConfig) {
    if (log) this.log = new JsonLog(log);
  }

  /** Opens FIFO/file destinations and the stdin source named in the config. */
  openPaths(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const path = this.stdio[stream];
      if (!path) continue;
      // With a terminal there is one stream: stdout's path gets it all.
      if (this.stdio.terminal && stream === "stderr") continue;
      const opening = openSink(path, "out");
      this.sinks[stream].push(
        new QueuedSink(
          async (b) => {
            const f = await opening;
            let off = 0;
            while (off < b.length) off += await f.write(b.subarray(off));
          },
          () => opening.then((f) => f.close()).catch(() => {}),
          `${stream} ${path}`,
        ),
      );
    }
  }

  /** Starts copying from the configured stdin path (a FIFO) into the process. */
  pumpStdinPath(): void {
    const path = this.stdio.stdin;
    if (!path) return;
    (async () => {
      const f = await openSink(path, "in");
      const buf = new Uint8Array(32 * 1024);
      for (;;) {
        const n = await f.read(buf).catch(() => null);
        if (n === null) break;
        await this.writeStdin(buf.subarray(0, n));
      }
      f.close();
      this.closeStdin();
    })().catch(() => {});
  }

  setStdin(w: WritableStreamDefaultWriter<Uint8Array> | undefined): void {
    this.#stdin = w;
  }

  /**
   * Input written before the process exists (an exec's client attaches
   * between the exec's creation and its start) waits here; null once the
   * process has been spawned.
   */
  #early: Uint8Array[] | null = [];
  #earlyClose = false;

  /** True until the process is spawned: its stdio can still be configured. */
  get awaitingProcess(): boolean {
    return this.#early !== null;
  }

  /** The process exists (or failed to): input kept so far goes to it. */
  async stdinReady(): Promise<void> {
    // Drained in order; what arrives meanwhile queues behind.
    while (this.#early?.length) await this.#write(this.#early.shift()!);
    this.#early = null;
    if (this.#earlyClose) this.closeStdin();
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    if (this.#early) {
      if (!this.#earlyClose) this.#early.push(data.slice());
      return;
    }
    await this.#write(data);
  }

  async #write(data: Uint8Array): Promise<void> {
    if (this.#stdinClosed) return;
    if (this.master !== undefined) {
      let off = 0;
      while (off < data.length) {
        const n = Number(
          await libc().writeBlocking(this.master, data.subarray(off), BigInt(data.length - off)),
        );
        if (n <= 0) return;
        off += n;
      }
      return;
    }
    await this.#stdin?.write(data).catch(() => {});
  }

  closeStdin(): void {
    if (this.#stdinClosed) return;
    if (this.#early) {
      this.#earlyClose = true;
      return;
    }
    this.#stdinClosed = true;
    if (this.master !== undefined) {
      // A terminal has no separate stdin: send EOF (^D) as a typist would.
      libc().writeBlocking(this.master, new Uint8Array([4]), 1n).catch(() => {});
      return;
    }
    this.#stdin?.close().catch(() => {});
  }

  resize(width: number, height: number): void {
    if (this.master === undefined) throw new Error("the process has no terminal");
    setWinsize(this.master, height, width);
  }

  emit(stream: Stream, data: Uint8Array): void {
    try {
      this.log?.write(stream, data);
    } catch { /* a full disk must not stop the container's output */ }
    for (const s of this.sinks[stream]) s.push(data);
    // With a terminal everything arrives on "stdout".
    if (this.stdio.terminal && stream === "stdout") {
      for (const s of this.sinks.stderr) s.push(data);
    }
    for (const c of this.clients) c.send(stream, data);
  }

  /** Copies a pipe until EOF. */
  pumpStream(stream: Stream, readable: ReadableStream<Uint8Array>): void {
    this.#pending.push((async () => {
      const reader = readable.getReader({ mode: "byob" });
      let buf = new Uint8Array(SMALL_READ);
      try {
        for (;;) {
          const { value, done } = await reader.read(buf);
          if (done || !value) break;
          this.emit(stream, value);
          buf = nextReadBuffer(new Uint8Array(value.buffer as ArrayBuffer), value.length);
        }
      } catch { /* the pipe broke: treat as EOF */ }
      this.log?.flush(stream);
    })());
  }

  /** Copies the pty master until every slave is closed. */
  pumpMaster(master: number): void {
    this.master = master;
    this.#pending.push((async () => {
      let buf = new Uint8Array(SMALL_READ);
      for (;;) {
        const n = Number(await libc().readBlocking(master, buf, BigInt(buf.length)));
        if (n <= 0) break; // EIO once the last slave fd is closed
        this.emit("stdout", buf.subarray(0, n));
        buf = nextReadBuffer(buf, n);
      }
      this.log?.flush("stdout");
    })());
  }

  /** Resolves when the output has ended (or after `timeoutMs`). */
  async drained(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#pending),
      new Promise((r) => timer = setTimeout(r, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /** True once the output has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Output is over: tell every destination. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const s of [...this.sinks.stdout, ...this.sinks.stderr]) s.end();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  dispose(): void {
    this.end();
    this.closeStdin();
    try {
      this.log?.close();
    } catch { /* closed */ }
    if (this.master !== undefined) {
      try {
        close(this.master);
      } catch { /* closed */ }
    }
  }
}

/**
 * A bounded, asynchronous writer. The shim's output path must never wait for
 * a reader (a FIFO nobody reads, an attach client that stalls): data beyond
 * the bound is dropped and counted instead (in shim.log), and the container
 * keeps running.
 */
import { shimLog } from "./shim_log.ts";

export class QueuedSink {
  #queue: Uint8Array[] = [];
  #bytes = 0;
  #wake?: () => void;
  #ended = false;
  dropped = 0;
  readonly done: Promise<void>;

  constructor(
    write: (b: Uint8Array) => Promise<void>,
    close: () => void,
    /** Names the reader in shim.log. */
    readonly label: string,
    readonly limit = 4 << 20,
  ) {
    this.done = this.#run(write, close);
  }

  push(b: Uint8Array): void {
    if (this.#ended) return;
    if (this.#bytes + b.length > this.limit) {
      if (!this.dropped) shimLog(`${this.label}: reader too slow, dropping output`);
      this.dropped += b.length;
      return;
    }
    // Copy: the producer reuses its buffers.
    this.#queue.push(b.slice());
    this.#bytes += b.length;
    this.#wake?.();
  }

  /** No more data: drain what is queued, then close. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async #run(write: (b: Uint8Array) => Promise<void>, close: () => void): Promise<void> {
    try {
      for (;;) {
        const b = this.#queue.shift();
        if (!b) {
          if (this.#ended) break;
          await new Promise<void>((r) => this.#wake = r);
          this.#wake = undefined;
          continue;
        }
        this.#bytes -= b.length;
        await write(b);
      }
    } catch {
      // The reader went away: stop queueing for it.
      this.#ended = true;
      this.#queue = [];
    } finally {
      if (this.dropped) shimLog(`${this.label}: ${this.dropped} bytes dropped in all`);
      try {
        close();
      } catch { /* already closed */ }
    }
  }
}

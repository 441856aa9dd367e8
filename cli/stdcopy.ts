/**
 * Docker's multiplexed stream (pkg/stdcopy): frames of an 8-byte header
 * [stream, 0, 0, 0, size (big-endian u32)] and `size` bytes of payload, where
 * stream is 0 stdin, 1 stdout, 2 stderr, 3 systemerr (an error from the
 * daemon, ending the stream).
 */

export const STDIN = 0, STDOUT = 1, STDERR = 2, SYSTEMERR = 3;

export interface Frame {
  stream: number;
  data: Uint8Array;
}

/** Splits a byte stream into frames; keeps partial frames across chunks. */
export class Demuxer {
  private buf: Uint8Array = new Uint8Array(0);

  /** Feeds bytes; returns the frames completed by them. */
  push(chunk: Uint8Array): Frame[] {
    if (this.buf.length) {
      const merged = new Uint8Array(this.buf.length + chunk.length);
      merged.set(this.buf);
      merged.set(chunk, this.buf.length);
      this.buf = merged;
    } else {
      this.buf = chunk;
    }
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const b = this.buf;
      const stream = b[off];
      if (stream > SYSTEMERR) {
        throw new Error(`Unrecognized input header: ${stream}`);
      }
      const size = ((b[off + 4] << 24) >>> 0) + (b[off + 5] << 16) + (b[off + 6] << 8) + b[off + 7];
      if (this.buf.length - off - 8 < size) break;
      frames.push({ stream, data: b.slice(off + 8, off + 8 + size) });
      off += 8 + size;
    }
    this.buf = this.buf.slice(off);
    return frames;
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pending(): number {
    return this.buf.length;
  }
}

/** One frame's bytes (what the daemon writes). */
export function frame(stream: number, data: Uint8Array | string): Uint8Array {
  const payload = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

export interface Sinks {
  stdout(data: Uint8Array): Promise<void> | void;
  stderr(data: Uint8Array): Promise<void> | void;
}

/**
 * Copies a multiplexed stream to `sinks` until it ends; a systemerr frame
 * becomes an error with the daemon's text (stdcopy.StdCopy).
 */
export async function demux(source: AsyncIterable<Uint8Array>, sinks: Sinks): Promise<void> {
  const d = new Demuxer();
  for await (const chunk of source) {
    for (const f of d.push(chunk)) {
      if (f.stream === SYSTEMERR) throw new Error(new TextDecoder().decode(f.data));
      if (f.stream === STDERR) await sinks.stderr(f.data);
      else await sinks.stdout(f.data);
    }
  }
}

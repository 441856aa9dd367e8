/**
 * Layer decompression by content (not by media type, which registries and
 * archives get wrong): gzip and zstd by their magic bytes, anything else as
 * an uncompressed tar.
 */
import { Readable, Transform } from "node:stream";
import zlib from "node:zlib";

export type Compression = "gzip" | "zstd" | "none";

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (
    head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f &&
    head[3] === 0xfd
  ) return "zstd";
  return "none";
}

/** Peeks at a stream's first bytes without losing them. */
export async function peek(
  stream: ReadableStream<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    have += r.value.length;
  }
  const head = new Uint8Array(have);
  let off = 0;
  for (const c of chunks) {
    head.set(c, off);
    off += c.length;
  }
  const rest = new ReadableStream<Uint8Array>({
    start(ctl) {
      if (head.length) ctl.enqueue(head);
      if (done) ctl.close();
    },
    async pull(ctl) {
      if (done) return;
      const r = await reader.read();
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { head: head.subarray(0, n), stream: rest };
}

/** The uncompressed bytes of a (maybe compressed) layer, as a Node stream. */
export async function decompressed(
  stream: ReadableStream<Uint8Array>,
): Promise<{ compression: Compression; output: Readable }> {
  const p = await peek(stream, 4);
  const compression = detectCompression(p.head);
  const source = Readable.fromWeb(p.stream as import("node:stream/web").ReadableStream);
  if (compression === "none") return { compression, output: source };
  const inflate: Transform = compression === "gzip"
    ? zlib.createGunzip()
    : zlib.createZstdDecompress();
  source.on("error", (e) => inflate.destroy(e));
  source.pipe(inflate);
  return { compression, output: inflate };
}

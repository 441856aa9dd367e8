/**
 * The body of a request that upgrades the connection (exec start's
 * `{"Detach":false,"Tty":false}`), apart from the stream that follows it.
 *
 * Deno's node:http hands the body over in one of two places: as the
 * request's own data when it came in the same read as the headers, else as
 * the first bytes of the upgraded socket, where it would reach the process's
 * stdin. Both are read here until Content-Length bytes are in, before the
 * `101` is sent (clients write stdin only after it), so what is left on the
 * socket is the stream.
 */
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";

export interface UpgradeBody {
  body: Uint8Array;
  /** Stream bytes already read past the body. */
  head: Uint8Array;
}

/** Gives up on a client that announced more body than it sends. */
const BODY_TIMEOUT_MS = 5_000;

export function readUpgradeBody(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
): Promise<UpgradeBody> {
  const length = Number(req.headers["content-length"] ?? 0);
  if (!Number.isSafeInteger(length) || length <= 0) {
    return Promise.resolve({ body: new Uint8Array(0), head });
  }
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let got = 0;
    let rest: Uint8Array = new Uint8Array(0);
    const take = (b: Uint8Array) => {
      const n = Math.min(b.length, length - got);
      chunks.push(b.subarray(0, n));
      got += n;
      if (n < b.length) rest = concat([rest, b.subarray(n)]);
      if (got === length) finish();
    };
    const onReq = (b: Buffer) => take(new Uint8Array(b));
    const onSocket = (b: Buffer) => {
      if (got < length) take(new Uint8Array(b));
      else rest = concat([rest, new Uint8Array(b)]);
    };
    const timer = setTimeout(() => finish(), BODY_TIMEOUT_MS);
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onReq);
      socket.off("data", onSocket);
      socket.pause();
      resolve({ body: concat(chunks), head: rest });
    }
    req.on("data", onReq);
    if (head.length) take(head);
    if (!done) socket.on("data", onSocket);
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

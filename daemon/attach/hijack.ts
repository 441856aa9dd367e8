/**
 * The Engine API's hijacked streams (attach, exec start): the HTTP
 * connection is taken over after `101 UPGRADED` and becomes the process's
 * stdio. dockerd holds no stdio itself: it bridges the client's connection to
 * the shim's attach socket (see shim/api.ts AttachHeader), which already
 * speaks Docker's framing (raw with a TTY, 8-byte multiplexed frames without).
 */
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { AttachHeader } from "../../shim/api.ts";
import { DetachFilter } from "./detach_keys.ts";

export interface BridgeOptions {
  /** The container's (or exec's) attach socket. */
  attachSocket: string;
  header: AttachHeader;
  /** With a TTY the stream is raw, else multiplexed. */
  tty: boolean;
  /** Detach sequence to watch for on stdin (attach only; absent for exec). */
  detachKeys?: Uint8Array;
  /** Called when the client typed the detach sequence. */
  onDetach?: () => void;
  /**
   * Runs once the shim knows this client and the 101 is sent, before output
   * is relayed (an exec starts here, so none of its output is missed). Its
   * error is written to the stream, as dockerd does once hijacked.
   */
  afterConnect?: () => Promise<void>;
  /** Output sent before the live stream (attach's `logs`). */
  replay?: ReadableStream<Uint8Array>;
  /** Awaited once the output ended, before the client's stream is closed. */
  beforeEnd?: () => Promise<void>;
  /** Settles when the attach socket can be connected (a container attached before its start). */
  ready?: Promise<void>;
}

/**
 * Connects to a shim's attach socket as `header` says and returns once the
 * shim has registered the client (its ack byte): output from then on reaches
 * it, so the process can be started.
 */
export async function connectAttach(path: string, header: AttachHeader): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(new TextEncoder().encode(JSON.stringify({ ...header, ack: true }) + "\n"));
    const ack = new Uint8Array(1);
    if (await conn.read(ack) !== 1) throw new Error("the process is gone");
    return conn;
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** One multiplexed frame: [stream, 0, 0, 0, length u32 BE] + data. */
function frameOf(stream: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

/** Writes the 101 answer that turns the connection into a raw stream. */
export function upgradeResponse(tty: boolean): string {
  const type = tty
    ? "application/vnd.docker.raw-stream"
    : "application/vnd.docker.multiplexed-stream";
  return `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\n` +
    `Upgrade: tcp\r\n\r\n`;
}

/**
 * Bridges `client` (the hijacked socket, `head` being bytes already read past
 * the request) and the shim's attach socket until the output ends, the client
 * goes away or detaches.
 */
export async function bridge(client: Duplex, head: Uint8Array, opts: BridgeOptions): Promise<void> {
  // Errors once hijacked are written to the stream, as dockerd does.
  const fail = (e: unknown) => {
    const text = new TextEncoder().encode(`${(e as Error).message}\r\n`);
    client.end(Buffer.from(opts.tty ? text : frameOf(1, text)));
  };
  // Input that arrives before the shim is connected waits in the socket (paused).
  client.pause();
  client.write(upgradeResponse(opts.tty));
  if (opts.replay) {
    for await (const chunk of opts.replay) client.write(Buffer.from(chunk));
  }
  let shim: Deno.UnixConn;
  try {
    await opts.ready;
    // The client left while waiting for the start.
    if (client.destroyed) return;
    shim = await connectAttach(opts.attachSocket, opts.header);
  } catch (e) {
    fail(e);
    return;
  }
  if (opts.afterConnect) {
    try {
      await opts.afterConnect();
    } catch (e) {
      fail(e);
      shim.close();
      return;
    }
  }
  client.resume();

  const filter = opts.detachKeys ? new DetachFilter(opts.detachKeys) : undefined;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    try {
      shim.close();
    } catch { /* closed */ }
    client.end();
  };

  // Client → shim (stdin).
  const toShim = async (chunk: Uint8Array) => {
    let data = chunk;
    if (filter) {
      const r = filter.feed(chunk);
      data = r.data;
      if (r.detach) {
        if (data.length) await shim.write(data).catch(() => {});
        opts.onDetach?.();
        finish();
        return;
      }
    }
    if (data.length) await shim.write(data).catch(() => {});
  };
  if (opts.header.stdin) {
    let chain = head.length ? toShim(head) : Promise.resolve();
    client.on("data", (b: Buffer) => {
      chain = chain.then(() => toShim(new Uint8Array(b)));
    });
    client.on("end", () => {
      // The client closed its stdin: pass the half-close on.
      chain.then(() => shim.closeWrite().catch(() => {}));
    });
  }
  client.on("close", finish);
  client.on("error", finish);

  // Shim → client (output).
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await shim.read(buf);
      if (n === null || closed) break;
      if (!client.write(Buffer.from(buf.subarray(0, n)))) {
        // The client reads slowly: wait for it (the shim's queue absorbs the rest).
        await new Promise((r) => client.once("drain", r));
      }
    }
  } catch { /* the shim went away */ }
  // The output ended: the client reads the exit next (exec inspect, wait), so it must be known.
  if (!closed && opts.beforeEnd) {
    await Promise.race([opts.beforeEnd(), new Promise((r) => setTimeout(r, 5000))]);
  }
  finish();
}

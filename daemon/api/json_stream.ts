/**
 * Docker's JSON progress stream as an HTTP answer (pull, load): one JSON
 * object per line, sent as it happens. As with dockerd's WriteFlusher, an
 * error before anything was sent is answered with its own status and
 * `{"message"}` body; after that it can only end the stream, as an
 * `{"errorDetail":{"message"},"error"}` line under status 200.
 */
import { errorMessage, jsonLine, type JsonMessage, type ProgressSink } from "../images/mod.ts";

export interface StreamOptions {
  /**
   * Messages kept back until one that is not (or the end) comes: dockerd
   * sends "Pulling from" only once the manifest was found, so that an
   * unknown image is a 404 and not a stream.
   */
  holdBack?: (m: JsonMessage) => boolean;
  /** Start the stream at once: every error goes into it (dockerd's load). */
  immediate?: boolean;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

const HEADERS = { "Content-Type": "application/json" };

/**
 * Runs `work` with a sink that writes to the answer. Resolves with the
 * streaming response once the first message is out (or `work` ended), or
 * rejects with `work`'s error if it failed before that.
 */
export function progressResponse(
  work: (progress: ProgressSink, signal: AbortSignal) => Promise<void>,
  opts: StreamOptions = {},
): Promise<Response> {
  const abort = new AbortController();
  const onClientGone = () => abort.abort(new Error("the client went away"));
  opts.signal?.addEventListener("abort", onClientGone, { once: true });
  const enc = new TextEncoder();
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (ctrl = c),
    cancel: () => {
      open = false;
      onClientGone();
    },
  });
  const send = (m: JsonMessage) => {
    if (open) ctrl.enqueue(enc.encode(jsonLine(m)));
  };
  const close = () => {
    if (open) ctrl.close();
    open = false;
    opts.signal?.removeEventListener("abort", onClientGone);
  };

  const { promise, resolve, reject } = Promise.withResolvers<Response>();
  let started = false;
  const held: JsonMessage[] = [];
  const start = () => {
    if (started) return;
    started = true;
    held.splice(0).forEach(send);
    resolve(new Response(body, { status: 200, headers: HEADERS }));
  };
  if (opts.immediate) start();
  const sink: ProgressSink = (m) => {
    if (started) return send(m);
    held.push(m);
    if (!opts.holdBack?.(m)) start();
  };
  work(sink, abort.signal).then(() => {
    start();
    close();
  }, (e) => {
    if (!started) {
      close();
      reject(e);
      return;
    }
    send(errorMessage(e));
    close();
  });
  return promise;
}

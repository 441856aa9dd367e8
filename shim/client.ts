/**
 * containerd's side of the shim socket: start a shim, connect to one, call
 * its methods (concurrently, matched by `seq`) and read its events.
 */
import {
  type ErrorCode,
  type Event,
  type EventMessage,
  type Method,
  type Request,
  type Response,
  type Results,
  SHIM_SOCKET,
} from "./api.ts";
import { selfCommand } from "../runtime/self_exec.ts";
import { cloexecFrom } from "../runtime/linux/libc.ts";

export type ParamsOf<M extends Method> = Extract<Request, { method: M }>["params"];

export class ShimError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();

export class ShimClient {
  #seq = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #events: Event[] = [];
  #eventWaiter?: () => void;
  #closed = false;
  #closeCallbacks: (() => void)[] = [];
  #writeQueue = Promise.resolve();

  constructor(readonly conn: Deno.Conn, readonly dir: string) {
    this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let pending = "";
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        pending += decoder.decode(buf.subarray(0, n), { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const msg = JSON.parse(pending.slice(0, nl)) as Response | EventMessage;
          pending = pending.slice(nl + 1);
          if ("event" in msg) {
            this.#events.push(msg.event);
            this.#eventWaiter?.();
            continue;
          }
          const waiter = this.#pending.get(msg.seq);
          if (!waiter) continue;
          this.#pending.delete(msg.seq);
          if ("error" in msg) waiter.reject(new ShimError(msg.error.code, msg.error.message));
          else waiter.resolve(msg.result);
        }
      }
    } catch { /* connection broke, or a line that is not JSON */ }
    this.close();
    this.#closed = true;
    for (const w of this.#pending.values()) {
      w.reject(new ShimError("unavailable", `shim ${this.dir}: connection closed`));
    }
    this.#pending.clear();
    this.#eventWaiter?.();
    for (const cb of this.#closeCallbacks) cb();
  }

  call<M extends Method>(method: M, params: ParamsOf<M>): Promise<Results[M]> {
    if (this.#closed) {
      return Promise.reject(new ShimError("unavailable", `shim ${this.dir}: connection closed`));
    }
    const seq = ++this.#seq;
    const line = encoder.encode(JSON.stringify({ seq, method, params }) + "\n");
    const result = new Promise<Results[M]>((resolve, reject) => {
      this.#pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.#writeQueue = this.#writeQueue.then(async () => {
      let off = 0;
      while (off < line.length) off += await this.conn.write(line.subarray(off));
    }).catch((e) => {
      this.#pending.get(seq)?.reject(new ShimError("unavailable", String(e)));
      this.#pending.delete(seq);
    });
    return result;
  }

  /** Subscribes and yields events until the connection closes. */
  async *events(): AsyncIterable<Event> {
    await this.call("subscribe", {});
    for (;;) {
      const ev = this.#events.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((r) => this.#eventWaiter = r);
      this.#eventWaiter = undefined;
    }
  }

  onClose(cb: () => void): void {
    if (this.#closed) cb();
    else this.#closeCallbacks.push(cb);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

export async function connectShim(dir: string): Promise<ShimClient> {
  try {
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/${SHIM_SOCKET}` });
    return new ShimClient(conn, dir);
  } catch (e) {
    throw new ShimError("unavailable", `shim ${dir}: ${(e as Error).message}`);
  }
}

function logTail(dir: string): string {
  try {
    return Deno.readTextFileSync(`${dir}/shim.log`).trim().split("\n").slice(-10).join("\n");
  } catch {
    return "(no shim.log)";
  }
}

/** Starts a shim in `dir`, detached from the caller, and connects to it. */
export async function startShim(dir: string, opts: { debug?: boolean } = {}): Promise<ShimClient> {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { command, args } = selfCommand("shim", ["--dir", dir, ...(opts.debug ? ["--debug"] : [])]);
  // Listening sockets made through node:net are inherited across exec: keep them
  // from the child (a shim holding containerd's socket would keep a dead containerd's
  // address answering).
  cloexecFrom(3);
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    cwd: dir,
  }).spawn();
  // The shim outlives its starter; the starter never waits for it.
  child.unref();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await connectShim(dir);
    } catch (e) {
      if (exited) {
        throw new ShimError(
          "unknown",
          `shim exited (${exited.code}) while starting: ${logTail(dir)}`,
        );
      }
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        throw new ShimError(
          "unavailable",
          `shim did not start: ${(e as Error).message}\n${logTail(dir)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * The typed channel between the runtime process and the init it starts
 * (and between `runc start` and a waiting init): JSON lines over a unix
 * socket. Every message is one of {@link Message}.
 */

/** Messages between the runtime (R) and a container's init (I). */
export type Message =
  /** R → I: set up the container as `cfg` says (the runtime now puts the init in its cgroup). */
  | { type: "go"; cfg: InitConfig }
  /**
   * R → I: the init is in its cgroup. The init waits for this before what
   * depends on it (a cgroup namespace of its own, hooks, execve) and does
   * the rest meanwhile: the first move into a cgroup costs an RCU grace
   * period (about 10 ms) in the kernel.
   */
  | { type: "placed" }
  /** I → R: mounts are ready; run prestart and createRuntime hooks now (if cfg.hookPause). */
  | { type: "hooks" }
  /** R → I: hooks done; continue with createContainer hooks and pivot_root. */
  | { type: "resume"; state: State }
  /** I → R: waiting for start (or, for exec, about to exec). */
  | { type: "ready" }
  /** `runc start` → I: execute the user's process; `state` is for startContainer hooks. */
  | { type: "start"; state: State }
  /** I → `runc start`: startContainer hooks ran; the process is being executed. */
  | { type: "started" }
  /** Either way: what failed, in words for the user. */
  | { type: "error"; message: string };

import type { State } from "../spec/types.ts";
import type { InitConfig } from "./init.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Channel {
  #buf = "";
  #chunk = new Uint8Array(4096);

  constructor(readonly conn: Deno.Conn) {}

  async send(msg: Message): Promise<void> {
    const data = encoder.encode(JSON.stringify(msg) + "\n");
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  /** The next message; an error if the peer closed the channel first. */
  async recv(): Promise<Message> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return JSON.parse(line) as Message;
      }
      const n = await this.conn.read(this.#chunk);
      if (n === null) throw new ChannelClosed();
      this.#buf += decoder.decode(this.#chunk.subarray(0, n), { stream: true });
    }
  }

  /** Waits for a message of `type`; an "error" message becomes a thrown Error. */
  async expect<T extends Message["type"]>(type: T): Promise<Extract<Message, { type: T }>> {
    const msg = await this.recv();
    if (msg.type === "error") throw new Error(msg.message);
    if (msg.type !== type) {
      throw new Error(`internal: expected "${type}" from peer, got "${msg.type}"`);
    }
    return msg as Extract<Message, { type: T }>;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

export class ChannelClosed extends Error {
  constructor() {
    super("the container's init process exited before it was ready");
  }
}

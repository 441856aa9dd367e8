/**
 * The shim's control socket: JSON-line requests from containerd (see api.ts),
 * answered in any order, and events pushed to subscribed connections. Events
 * raised while nobody is subscribed are kept and delivered to the next
 * subscriber (exits are also durable files, for a containerd that restarts).
 */
import type { Event, EventMessage, Request, Response } from "./api.ts";
import { INIT } from "./api.ts";
import { acceptEach } from "./accept.ts";
import { Container } from "./container.ts";
import { ShimFailure } from "./errors.ts";

const encoder = new TextEncoder();
/** A request line longer than this is refused (and the connection closed). */
const MAX_REQUEST = 16 << 20;

export class ShimServer {
  readonly containers = new Map<string, Container>();
  /** Subscribed connections and their ordered writers. */
  #subscribers = new Map<Deno.Conn, (msg: EventMessage) => void>();
  #backlog: Event[] = [];
  #everCreated = false;
  /** Decided to exit: refuse new containers rather than orphan them. */
  #exiting = false;
  readonly #done = Promise.withResolvers<void>();
  /** Resolves when the shim should exit. */
  readonly done = this.#done.promise;

  constructor(readonly log: (msg: string) => void, readonly debug = false) {}

  publish(event: Event): void {
    if (!this.#subscribers.size) {
      this.#backlog.push(event);
      return;
    }
    for (const send of this.#subscribers.values()) send({ event });
  }

  serve(listener: Deno.Listener): Promise<void> {
    return acceptEach(listener, "shim.sock", (conn) => this.#connection(conn));
  }

  async #connection(conn: Deno.Conn): Promise<void> {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let pending = "";
    // Responses go out one at a time per connection.
    let queue = Promise.resolve();
    const send = (msg: Response | EventMessage) => {
      const data = encoder.encode(JSON.stringify(msg) + "\n");
      queue = queue.then(async () => {
        let off = 0;
        while (off < data.length) off += await conn.write(data.subarray(off));
      }).catch(() => {});
    };
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        pending += decoder.decode(buf.subarray(0, n), { stream: true });
        if (pending.length > MAX_REQUEST) {
          send({ seq: -1, error: { code: "invalid_argument", message: "request line too long" } });
          break;
        }
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) this.#request(line, conn, send);
        }
      }
    } finally {
      this.#subscribers.delete(conn);
      await queue;
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  #request(line: string, conn: Deno.Conn, send: (msg: Response | EventMessage) => void): void {
    let req: Request;
    try {
      req = JSON.parse(line);
      if (typeof req !== "object" || req === null || typeof req.method !== "string") {
        throw new Error("not a request object");
      }
    } catch (e) {
      send({ seq: -1, error: { code: "invalid_argument", message: `bad request: ${e}` } });
      return;
    }
    const seq = typeof req.seq === "number" ? req.seq : -1;
    const t0 = performance.now();
    const trace = (outcome: string) => {
      if (!this.debug) return;
      const ms = (performance.now() - t0).toFixed(1);
      this.log(`${req.method} ${JSON.stringify(req.params ?? {})} -> ${outcome} (${ms} ms)`);
    };
    this.#dispatch(req, conn, send).then(
      (result) => {
        trace("ok");
        send({ seq, result: result ?? {} });
      },
      (e) => {
        const code = e instanceof ShimFailure ? e.code : "unknown";
        if (!(e instanceof ShimFailure)) this.log(`${req.method}: ${e?.stack ?? e}`);
        trace(`${code}: ${e?.message ?? e}`);
        send({ seq, error: { code, message: e?.message ?? String(e) } });
      },
    ).then(() => this.#maybeExit());
  }

  #get(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new ShimFailure("not_found", `container ${id}: not found`);
    return c;
  }

  async #dispatch(
    req: Request,
    conn: Deno.Conn,
    send: (msg: Response | EventMessage) => void,
  ): Promise<unknown> {
    const p = (req.params ?? {}) as Record<string, any>;
    switch (req.method) {
      case "create": {
        if (typeof p.id !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,1023}$/.test(p.id)) {
          throw new ShimFailure("invalid_argument", `invalid container id ${JSON.stringify(p.id)}`);
        }
        if (typeof p.bundle !== "string" || !p.bundle.startsWith("/")) {
          throw new ShimFailure("invalid_argument", "bundle must be an absolute path");
        }
        if (this.#exiting) {
          throw new ShimFailure("unavailable", "the shim is exiting; start another one");
        }
        if (this.containers.has(p.id)) {
          throw new ShimFailure("already_exists", `container ${p.id}: already exists`);
        }
        const c = new Container(req.params as any, {
          exit: (id, execId, exit) => this.publish({ type: "exit", id, execId, exit }),
          start: (id, execId, pid) => this.publish({ type: "start", id, execId, pid }),
          oom: (id) => this.publish({ type: "oom", id }),
        });
        this.containers.set(p.id, c);
        this.#everCreated = true;
        c.creating = c.create();
        try {
          return { pid: await c.creating };
        } catch (e) {
          this.containers.delete(p.id);
          throw e;
        } finally {
          c.creating = undefined;
        }
      }
      case "start":
        return { pid: await this.#get(p.id).start(p.execId ?? INIT) };
      case "exec":
        return this.#get(p.id).exec(req.params as any);
      case "kill":
        return await this.#get(p.id).kill(
          p.execId ?? INIT,
          intIn(p.signal, 0, 64, "signal"),
          Boolean(p.all),
        );
      case "pause":
        return await this.#get(p.id).pause();
      case "resume":
        return await this.#get(p.id).resume();
      case "resize":
        return this.#get(p.id).resize(
          p.execId ?? INIT,
          intIn(p.width, 0, 65535, "width"),
          intIn(p.height, 0, 65535, "height"),
        );
      case "closeStdin":
        return this.#get(p.id).closeStdin(p.execId ?? INIT);
      case "state":
        return this.#get(p.id).state(p.execId ?? INIT);
      case "list":
        return {
          containers: [...this.containers.values()].filter((c) => c.procs.has(INIT)).map((c) =>
            c.state(INIT)
          ),
        };
      case "pids":
        return { pids: await this.#get(p.id).pids() };
      case "stats":
        return await this.#get(p.id).stats();
      case "update":
        return await this.#get(p.id).update(p.resources);
      case "wait":
        return await this.#get(p.id).wait(p.execId ?? INIT);
      case "delete": {
        const c = this.#get(p.id);
        // A delete racing a create waits for it, so the runtime cannot create after we deleted.
        await c.creating?.catch(() => {});
        if (!this.containers.has(p.id)) {
          throw new ShimFailure("not_found", `container ${p.id}: not found`);
        }
        const execId = p.execId ?? INIT;
        const exit = await c.delete(execId, Boolean(p.force));
        if (execId === INIT) {
          this.containers.delete(p.id);
          this.publish({ type: "delete", id: p.id, exit });
        }
        return exit;
      }
      case "subscribe": {
        this.#subscribers.set(conn, send);
        for (const event of this.#backlog.splice(0)) send({ event });
        return {};
      }
      case "shutdown":
        if (this.containers.size) {
          throw new ShimFailure("failed_precondition", "the shim still supervises containers");
        }
        this.#everCreated = true;
        return {};
      default:
        throw new ShimFailure(
          "invalid_argument",
          `unknown method ${JSON.stringify((req as { method: string }).method)}`,
        );
    }
  }

  /** A shim with no container left (after having had one) exits. */
  #maybeExit(): void {
    if (this.#everCreated && this.containers.size === 0 && !this.#exiting) {
      this.#exiting = true;
      // Let the last answer leave first.
      setTimeout(() => this.#done.resolve(), 50);
    }
  }
}

/** `v` as an integer in [min, max], else invalid_argument. */
function intIn(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ShimFailure("invalid_argument", `${what}: want an integer in ${min}..${max}`);
  }
  return v;
}

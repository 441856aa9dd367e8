/**
 * The shims containerd supervises: one per container, or with
 * config.shimGroupSize > 1 one per group of up to that many containers of a
 * namespace. Each live shim has one connection, subscribed to its events.
 *
 * A connection that closes is either a shim that exited on purpose (its
 * last container was deleted: `closing`) or a lost shim: if its process is
 * gone (or does not answer again), its containers are reaped (see reap.ts)
 * through `onLost`.
 */
import { pathExists } from "../../../runtime/linux/proc.ts";
import type { Event } from "../../../shim/api.ts";
import { SHIM_PID_FILE } from "../../../shim/api.ts";
import type { ShimClient } from "../../../shim/client.ts";
import { pidAlive, shimProcesses } from "./reap.ts";

/** What the task manager needs of a shim connection. */
export type ShimConn = Pick<ShimClient, "call" | "events" | "close">;

export interface ShimDriver {
  start(dir: string): Promise<ShimConn>;
  connect(dir: string): Promise<ShimConn>;
}

export class ShimHandle {
  conn?: ShimConn;
  /** Container ids bound to this shim (created, being created, or about to be). */
  readonly tasks = new Set<string>();
  /**
   * Container ids the shim has (or has been sent a create for): the shim
   * exits by itself once a request leaves it none, so this, not `tasks`,
   * says when it is about to go.
   */
  readonly held = new Set<string>();
  /** No container left: the shim exits by itself; never hand it new ones. */
  closing = false;
  /** Deletes of its containers in flight (the shim exits when they leave none). */
  leaving = 0;
  /** The shim is gone for good. */
  lost = false;
  /** Settles when the shim is started (single flight for grouped creates). */
  ready?: Promise<ShimConn>;

  constructor(readonly dir: string, readonly namespace: string) {}

  get pid(): number {
    try {
      return Number(Deno.readTextFileSync(`${this.dir}/${SHIM_PID_FILE}`).trim()) || 0;
    } catch {
      return 0;
    }
  }
}

export interface PoolHooks {
  onEvent(h: ShimHandle, ev: Event): void;
  onLost(h: ShimHandle): Promise<void>;
}

export class ShimPool {
  readonly handles = new Map<string, ShimHandle>();

  constructor(
    private state: string,
    private groupSize: number,
    private driver: ShimDriver,
    private hooks: PoolHooks,
  ) {}

  /** The shim for a new container (reserved synchronously, started later by `conn`). */
  pick(namespace: string, id: string): ShimHandle {
    if (this.groupSize > 1) {
      for (const h of this.handles.values()) {
        if (
          h.namespace === namespace && !h.closing && !h.lost && h.tasks.size < this.groupSize
        ) {
          h.tasks.add(id);
          return h;
        }
      }
    }
    // A fresh directory per shim: an exiting shim may still hold an old one.
    const base = `${this.state}/shims/${namespace}/`;
    const rand = () => crypto.randomUUID().slice(0, 8);
    // Short names: the shim's socket path must fit a socket address (107 bytes).
    const name = id.length > 12 ? id.slice(0, 12) : id;
    let dir = base + (this.groupSize > 1 ? `group-${rand()}` : name);
    // A retry keeps the length: 15 + "-" + 8 characters.
    while (this.handles.has(dir) || pathExists(dir)) dir = `${base}${name.slice(0, 15)}-${rand()}`;
    const h = new ShimHandle(dir, namespace);
    this.handles.set(h.dir, h);
    h.tasks.add(id);
    return h;
  }

  /** The connection of a picked shim, starting the shim on first use. */
  conn(h: ShimHandle): Promise<ShimConn> {
    if (h.conn) return Promise.resolve(h.conn);
    h.ready ??= (async () => {
      await Deno.mkdir(h.dir, { recursive: true, mode: 0o700 });
      const conn = await this.driver.start(h.dir);
      await this.attach(h, conn);
      return conn;
    })();
    h.ready.catch(() => {
      h.ready = undefined;
    });
    return h.ready;
  }

  /** The handle of an existing shim directory (recovery). */
  handle(dir: string, namespace: string): ShimHandle {
    let h = this.handles.get(dir);
    if (!h) {
      h = new ShimHandle(dir, namespace);
      this.handles.set(dir, h);
    }
    return h;
  }

  /** Connects to an existing shim; marks it lost if it does not answer. */
  async adopt(h: ShimHandle): Promise<void> {
    // A live shim may be busy, or still starting (no pid file, no socket
    // yet); a dead one refuses at once.
    const deadline = Date.now() + 10_000;
    while (!h.conn) {
      try {
        await this.attach(h, await this.driver.connect(h.dir));
      } catch {
        if (!this.alive(h) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!h.conn) this.markLost(h);
  }

  /** Whether any process serves the shim's directory (by pid file or command line). */
  private alive(h: ShimHandle): boolean {
    return pidAlive(h.pid) || shimProcesses(h.dir).length > 0;
  }

  /** Notes that the shim has (or is being sent a create for) a container. */
  hold(h: ShimHandle, id: string): void {
    h.held.add(id);
  }

  /** Notes that the shim no longer has a container; with none left it is exiting. */
  unhold(h: ShimHandle, id: string): void {
    if (h.held.delete(id) && h.held.size === 0) h.closing = true;
  }

  /**
   * Forgets a container; a shim left empty exits by itself (callers set
   * `closing` before the request that makes it exit).
   */
  release(h: ShimHandle, id: string): void {
    h.tasks.delete(id);
    this.unhold(h, id);
    if (h.tasks.size) return;
    h.closing = true;
    if (!h.conn && !h.ready) this.forget(h);
  }

  /** Tells an empty shim to exit (after a failed create) and forgets it. */
  async shutdown(h: ShimHandle): Promise<void> {
    if (h.tasks.size) return;
    h.closing = true;
    await h.conn?.call("shutdown", {}).catch(() => {});
    if (!h.conn) this.forget(h);
  }

  private async attach(h: ShimHandle, conn: ShimConn): Promise<void> {
    await conn.call("subscribe", {});
    h.conn = conn;
    this.watch(h, conn);
  }

  private async watch(h: ShimHandle, conn: ShimConn): Promise<void> {
    try {
      for await (const ev of conn.events()) this.hooks.onEvent(h, ev);
    } catch { /* connection lost */ }
    if (h.conn === conn) h.conn = undefined;
    conn.close();
    if (h.closing) {
      // Asked to go (its last container is being deleted): not a loss.
      if (h.tasks.size === 0) this.forget(h);
      return;
    }
    // Not asked to go: a crash, or a broken connection to a live shim.
    if (this.alive(h)) {
      try {
        await this.attach(h, await this.driver.connect(h.dir));
        return;
      } catch { /* unresponsive: treat as lost */ }
    }
    this.markLost(h);
    await this.hooks.onLost(h);
  }

  private markLost(h: ShimHandle): void {
    // A shim that is alive but does not answer cannot be trusted with its
    // containers any more: stop it before the runtime cleans up behind it.
    for (const pid of new Set([h.pid, ...shimProcesses(h.dir)])) {
      if (!pidAlive(pid)) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    h.lost = true;
  }

  /** Drops a shim that has exited, with its directory. */
  forget(h: ShimHandle): void {
    if (this.handles.get(h.dir) !== h) return; // already forgotten
    this.handles.delete(h.dir);
    try {
      Deno.removeSync(h.dir, { recursive: true });
    } catch { /* already gone */ }
  }
}

/**
 * Daemon start: find every task of the previous run again.
 *
 * For each shim directory that task records point to, reconnect to the shim
 * (subscribing to its events first, so nothing is missed) and ask it about
 * each container: exits that happened while containerd was down are learnt
 * and published (once: records remember what was published). A shim that
 * does not answer is lost: its containers are killed, deleted and reported
 * exited (reap.ts). Records caught mid-Create are undone, mid-Delete
 * finished; shims and bundles that no record owns are removed.
 */
import { pathExists } from "../../../runtime/linux/proc.ts";
import { CONTAINER_FILES, INIT, type ProcessState } from "../../../shim/api.ts";
import { removeBundle } from "./bundle.ts";
import { Task, type TaskManager } from "./manager.ts";
import type { ShimConn, ShimHandle } from "./shims.ts";
import { reapContainer } from "./reap.ts";
import { loadRecords, type TaskRecord } from "./store.ts";
import { nowRfc3339 } from "./time.ts";

function subdirs(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].filter((e) => e.isDirectory).map((e) => `${path}/${e.name}`);
  } catch {
    return [];
  }
}

/**
 * How long events learnt at start (exits while containerd was down) are
 * held, so that clients reconnecting to the event stream after a restart
 * get them (containerd's shims retry their publishes for the same reason).
 */
export const RECOVERY_EVENT_GRACE_MS = 1000;

/** Re-adopts the tasks of the previous run; call once, before serving requests. */
export async function recoverTasks(m: TaskManager, graceMs = RECOVERY_EVENT_GRACE_MS) {
  m.holdEvents();
  try {
    await recover(m);
  } finally {
    m.endRecovery(graceMs);
  }
}

async function recover(m: TaskManager): Promise<void> {
  const log = (msg: string) => m.log(`recovery: ${msg}`);
  const { state } = m.ctx.config;
  const { records, orphans } = loadRecords(state);
  for (const dir of orphans) {
    await removeBundle(dir).catch((e) => log(`${dir}: ${(e as Error).message}`));
  }

  const byShim = new Map<ShimHandle, Task[]>();
  for (const rec of records) {
    const h = m.pool.handle(rec.shimDir, rec.namespace);
    h.tasks.add(rec.id);
    m.pool.hold(h, rec.id);
    const t = new Task(rec, h);
    if (rec.exit) t.exits.set(INIT, rec.exit);
    // Registered before connecting, so events pushed at subscribe find their task.
    m.tasks.set(t.key, t);
    byShim.set(h, [...(byShim.get(h) ?? []), t]);
  }
  await Promise.all([...byShim].map(([h, ts]) => recoverShim(m, h, ts)));

  // Shim directories no record points to: a shim started for a Create that
  // never got recorded, or one whose exit was not seen. Stop and remove them.
  for (const nsDir of subdirs(`${state}/shims`)) {
    for (const dir of subdirs(nsDir)) {
      if (m.pool.handles.has(dir)) continue;
      const h = m.pool.handle(dir, nsDir.slice(nsDir.lastIndexOf("/") + 1));
      await m.pool.adopt(h);
      if (h.conn) {
        const { containers } = await h.conn.call("list", {}).catch(() => ({ containers: [] }));
        for (const c of containers.filter((c) => c.execId === INIT)) {
          await h.conn.call("delete", { id: c.id, force: true }).catch(() => {});
        }
        await m.pool.shutdown(h);
      } else {
        m.pool.forget(h);
      }
    }
  }
}

async function recoverShim(m: TaskManager, h: ShimHandle, ts: Task[]): Promise<void> {
  const log = (msg: string) => m.log(`recovery: ${msg}`);
  await m.pool.adopt(h);
  if (!h.conn) {
    const live = ts.filter((t) => t.rec.phase === "created").map((t) => t.rec.id);
    if (live.length) log(`shim ${h.dir} is gone: reaping ${live.join(", ")}`);
    await m.reapShim(h);
    return;
  }
  const conn = h.conn;
  for (const t of ts) {
    const rec: TaskRecord = t.rec;
    try {
      if (rec.phase === "creating") {
        // The client never heard back: undo, as containerd cleans up a failed create.
        const st = await settledState(conn, rec);
        if (st && h.held.size === 1) h.closing = true; // it exits after deleting its last one
        if (st) await conn.call("delete", { id: rec.id, force: true }).catch(() => {});
        await reapContainer(rec.runtimeRoot, rec.id, rec.bundle, 0);
        await m.drop(t);
        continue;
      }
      const st = await stateOf(conn, rec.id);
      if (rec.phase === "deleting") {
        if (h.held.size === 1) h.closing = true; // it exits after deleting its last one
        const exit = st
          ? await conn.call("delete", { id: rec.id, force: true }).catch(() => st.exit)
          : undefined;
        await m.finishDelete(
          t,
          exit ?? t.exits.get(INIT) ?? { pid: rec.pid, status: 0, exitedAt: nowRfc3339() },
        );
      } else if (!st) {
        // The shim lives but forgot the container: clean up through the runtime.
        await m.reapTask(t);
      } else {
        for (const execId of Object.keys(rec.execs)) {
          const es = await conn.call("state", { id: rec.id, execId }).catch(() => undefined);
          if (!es) delete rec.execs[execId];
          else if (es.exit) m.onExit(t, execId, es.exit);
        }
        if (st.exit) m.onExit(t, INIT, st.exit);
        t.save();
      }
    } catch (e) {
      log(`${rec.namespace}/${rec.id}: ${(e as Error).message}`);
    }
  }
  // Containers of this shim that no record knows (cannot normally happen:
  // records are written before the shim creates anything).
  const { containers } = await conn.call("list", {}).catch(() => ({ containers: [] }));
  for (const c of containers) {
    if (c.execId === INIT && !ts.some((t) => t.rec.id === c.id)) {
      await conn.call("delete", { id: c.id, force: true }).catch(() => {});
    }
  }
  if (h.tasks.size === 0) await m.pool.shutdown(h);
}

/** The shim's state of a container's init; undefined if the shim does not know it. */
async function stateOf(conn: ShimConn, id: string): Promise<ProcessState | undefined> {
  try {
    return await conn.call("state", { id });
  } catch (e) {
    if ((e as { code?: string }).code === "not_found") return undefined;
    throw e;
  }
}

/**
 * The state of a container whose Create was cut short, once the shim is
 * done with it: a create still running in the shim (its record file is
 * there, but no pid yet) must finish before it can be undone, or the
 * runtime would create the container after the undo.
 */
async function settledState(conn: ShimConn, rec: TaskRecord): Promise<ProcessState | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const st = await stateOf(conn, rec.id).catch(() => undefined);
    const inFlight = st
      ? st.pid === 0 && st.status === "created"
      : pathExists(`${rec.bundle}/${CONTAINER_FILES.record}`);
    if (!inFlight || Date.now() > deadline) return st;
    await new Promise((r) => setTimeout(r, 50));
  }
}

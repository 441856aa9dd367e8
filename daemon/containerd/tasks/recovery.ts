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
import { INIT, type ProcessState } from "../../../shim/api.ts";
import { removeBundle } from "./bundle.ts";
import { Task, type TaskManager } from "./manager.ts";
import type { ShimHandle } from "./shims.ts";
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
    log(`shim ${h.dir} is gone: reaping ${ts.map((t) => t.rec.id).join(", ")}`);
    await m.reapShim(h);
    return;
  }
  const conn = h.conn;
  const { containers } = await conn.call("list", {}).catch(() => ({ containers: [] }));
  const inits = new Map<string, ProcessState>();
  for (const c of containers) if (c.execId === INIT) inits.set(c.id, c);

  for (const t of ts) {
    const rec: TaskRecord = t.rec;
    const st = inits.get(rec.id);
    try {
      if (rec.phase === "creating") {
        // The client never heard back: undo, as containerd cleans up a failed create.
        if (st) await conn.call("delete", { id: rec.id, force: true }).catch(() => {});
        await m.drop(t);
      } else if (rec.phase === "deleting") {
        if (h.tasks.size === 1) h.closing = true; // it exits after deleting its last one
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
  for (const id of inits.keys()) {
    if (!ts.some((t) => t.rec.id === id)) {
      await conn.call("delete", { id, force: true }).catch(() => {});
    }
  }
  if (h.tasks.size === 0) await m.pool.shutdown(h);
}

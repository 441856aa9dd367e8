/**
 * The task lifecycle: containerd's Tasks service logic on top of shims.
 *
 * Every task has a record on disk (store.ts) written before anything that
 * would be lost without it, so a restart finds each task's shim again
 * (recovery.ts). The shim is the source of truth for process states; the
 * manager keeps the exits it learnt (to answer Wait and publish TaskExit once).
 */
import {
  alreadyExists,
  Code,
  ContainerdError,
  type DaemonContext,
  failedPrecondition,
  invalidArgument,
  notFound,
} from "../context.ts";
import {
  type ErrorCode,
  type Event,
  type ExitRecord,
  INIT,
  type ProcessState,
  type ProcessStatus,
  type RootfsMount,
} from "../../../shim/api.ts";
import type { Process, Resources } from "../../../runtime/spec/types.ts";
import { parseSpec, removeBundle, writeBundle } from "./bundle.ts";
import { execStdio, initStdio } from "./io.ts";
import { metricsAny } from "./metrics.ts";
import { oomKills } from "./oom.ts";
import {
  EVENT_TYPES,
  type MetricMsg,
  type MountMsg,
  type ProcessInfoMsg,
  type ProcessMsg,
  type StatusName,
  type TaskEvents,
} from "./messages.ts";
import { PbWriter } from "./pb.ts";
import { reapContainer } from "./reap.ts";
import { type ShimConn, type ShimDriver, type ShimHandle, ShimPool } from "./shims.ts";
import { bundleDir, removeRecord, saveRecord, type TaskIO, type TaskRecord } from "./store.ts";
import { nowRfc3339, toTimestamp } from "./time.ts";
import type { Any } from "../context.ts";

/** One task: its record, its shim and what is known about its processes' exits. */
export class Task {
  /** Exits learnt, by exec id ("" = init). */
  readonly exits = new Map<string, ExitRecord>();
  private readonly waiters = new Map<string, ((e: ExitRecord) => void)[]>();
  /** Processes being started: their exit waits until the start is published. */
  private readonly starting = new Map<string, ExitRecord | null>();
  /** Set once the record is removed: nothing may write it again. */
  removed = false;
  /** Set while (and after) the task is being deleted: it is no longer visible. */
  deleting?: Promise<ExitRecord>;
  /** Set when its shim was lost and the runtime is cleaning up behind it. */
  reaping?: Promise<void>;
  /** TaskOOM was published. */
  oom = false;

  constructor(public rec: TaskRecord, public shim: ShimHandle) {}

  get key(): string {
    return `${this.rec.namespace}/${this.rec.id}`;
  }

  save(): void {
    if (!this.removed) saveRecord(this.rec);
  }

  waitExit(execId: string): Promise<ExitRecord> {
    const known = this.exits.get(execId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.waiters.get(execId) ?? [];
      list.push(resolve);
      this.waiters.set(execId, list);
    });
  }

  /** Resolves the waiters of a process. */
  settle(execId: string, exit: ExitRecord): void {
    for (const w of this.waiters.get(execId) ?? []) w(exit);
    this.waiters.delete(execId);
  }

  beginStart(execId: string): void {
    this.starting.set(execId, null);
  }

  /** Ends a start; returns an exit that arrived meanwhile. */
  endStart(execId: string): ExitRecord | null {
    const held = this.starting.get(execId) ?? null;
    this.starting.delete(execId);
    return held;
  }

  /** Holds an exit of a process being started; false if none is. */
  hold(execId: string, exit: ExitRecord): boolean {
    if (!this.starting.has(execId)) return false;
    this.starting.set(execId, exit);
    return true;
  }
}

const STATUS: Record<ProcessStatus, StatusName> = {
  created: "CREATED",
  running: "RUNNING",
  paused: "PAUSED",
  stopped: "STOPPED",
};

const SHIM_CODES: Record<ErrorCode, Code> = {
  not_found: Code.NOT_FOUND,
  already_exists: Code.ALREADY_EXISTS,
  failed_precondition: Code.FAILED_PRECONDITION,
  invalid_argument: Code.INVALID_ARGUMENT,
  unavailable: Code.UNAVAILABLE,
  unknown: Code.UNKNOWN,
};

/** A shim's error as a gRPC status error (its code maps one to one). */
export function fromShim(e: unknown): ContainerdError {
  if (e instanceof ContainerdError) return e;
  const err = e as { code?: string; message?: string };
  const code = SHIM_CODES[err.code as ErrorCode] ?? Code.UNKNOWN;
  return new ContainerdError(code, err.message ?? String(e));
}

/** containerd.runc.v1.ProcessDetails: ListPids' info for exec'd processes. */
function processDetails(execId: string): Any {
  return {
    type_url: "containerd.runc.v1.ProcessDetails",
    value: new PbWriter().string(1, execId).finish(),
  };
}

const emptyIO: TaskIO = { stdin: "", stdout: "", stderr: "", terminal: false };

export interface CreateOptions {
  rootfs: MountMsg[];
  io: TaskIO;
  /** True when the request asks to restore a checkpoint (not supported). */
  checkpoint?: boolean;
}

export class TaskManager {
  readonly tasks = new Map<string, Task>();
  readonly pool: ShimPool;

  constructor(readonly ctx: DaemonContext, driver: ShimDriver) {
    this.pool = new ShimPool(ctx.config.state, Math.max(1, ctx.config.shimGroupSize), driver, {
      onEvent: (h, ev) => this.onShimEvent(h, ev),
      onLost: (h) => this.reapShim(h),
    });
  }

  /**
   * Events held back while recovering (see recovery.ts): published after a
   * grace period, or as soon as anything else is published, in order.
   */
  private held?: { ns: string; topic: keyof TaskEvents; event: object; done?: () => void }[];
  private recovering = false;

  /** Holds every event published until {@link releaseEvents}. */
  holdEvents(): void {
    this.held ??= [];
    this.recovering = true;
  }

  /** Ends recovery: held events go out at `graceMs` or with the next event. */
  endRecovery(graceMs: number): void {
    this.recovering = false;
    if (this.held) setTimeout(() => this.releaseEvents(), graceMs);
  }

  releaseEvents(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const h of held) this.publishNow(h.ns, h.topic, h.event, h.done);
  }

  /** Publishes an event; `done` runs once it is out (e.g. to record that it is). */
  /** Logs a problem the caller cannot be told about. */
  log(msg: string): void {
    const line = `tasks: ${msg}`;
    if (this.ctx.log) this.ctx.log.warn(line);
    else console.error(line);
  }

  publish<T extends keyof TaskEvents>(
    ns: string,
    topic: T,
    event: TaskEvents[T],
    done?: () => void,
  ): void {
    if (this.held && this.recovering) {
      this.held.push({ ns, topic, event, done });
      return;
    }
    if (this.held) this.releaseEvents();
    this.publishNow(ns, topic, event, done);
  }

  private publishNow(ns: string, topic: keyof TaskEvents, event: object, done?: () => void) {
    this.ctx.events.publish(ns, topic, EVENT_TYPES[topic], event as Record<string, unknown>);
    done?.();
  }

  /** The task of a container; NOT_FOUND for an unknown container or a container without task. */
  task(ns: string, id: string): Task {
    const t = this.tasks.get(`${ns}/${id}`);
    if (t && !t.deleting) return t;
    if (!this.ctx.metadata.getContainer(ns, id)) {
      throw notFound(`container "${id}" in namespace "${ns}"`);
    }
    throw new ContainerdError(Code.NOT_FOUND, `task ${id} not found`);
  }

  /** The live connection to a task's shim, or the error for a task whose shim is gone. */
  private conn(t: Task): ShimConn {
    if (t.shim.conn && !t.shim.lost) return t.shim.conn;
    throw failedPrecondition(`task ${t.rec.id}: its shim is gone; the task is stopped`);
  }

  // ------------------------------------------------------------- lifecycle

  async create(ns: string, id: string, opts: CreateOptions): Promise<number> {
    const container = this.ctx.metadata.getContainer(ns, id);
    if (!container) throw notFound(`container "${id}" in namespace "${ns}"`);
    const key = `${ns}/${id}`;
    if (this.tasks.has(key)) throw alreadyExists(`task ${id}`);
    if (opts.checkpoint) {
      throw new ContainerdError(Code.UNIMPLEMENTED, "restoring a checkpoint is not supported");
    }
    const spec = parseSpec(container.spec, id);
    const stdio = initStdio(opts.io, container.labels ?? {});
    const rootfs: RootfsMount[] = opts.rootfs.map((m) => ({
      type: m.type,
      source: m.source,
      ...(m.target ? { target: m.target } : {}),
      options: m.options ?? [],
    }));

    // Reserve the id and the shim synchronously: a concurrent Create of the
    // same id fails above, and grouped shims are never over-filled.
    const shim = this.pool.pick(ns, id);
    const { state } = this.ctx.config;
    const rec: TaskRecord = {
      version: 1,
      namespace: ns,
      id,
      phase: "creating",
      bundle: bundleDir(state, ns, id),
      shimDir: shim.dir,
      runtimeRoot: `${state}/runc/${ns}`,
      pid: 0,
      io: opts.io,
      rootfs,
      createdAt: nowRfc3339(),
      execs: {},
      published: [],
    };
    const t = new Task(rec, shim);
    this.tasks.set(key, t);
    try {
      await removeBundle(rec.bundle); // a leftover of a crash before its record
      Deno.mkdirSync(rec.bundle, { recursive: true, mode: 0o711 });
      Deno.mkdirSync(rec.runtimeRoot, { recursive: true, mode: 0o711 });
      t.save(); // before the shim exists: a crash from here on is cleaned up at restart
      writeBundle(rec.bundle, spec);
      const conn = await this.sendable(t);
      const { pid } = await conn.call("create", {
        id,
        bundle: rec.bundle,
        rootfs,
        stdio,
        runtimeRoot: rec.runtimeRoot,
      }).catch((e) => {
        throw fromShim(e);
      });
      rec.pid = pid;
      rec.phase = "created";
      t.save();
    } catch (e) {
      await this.abandon(t);
      throw e;
    }
    this.publish(ns, "/tasks/create", {
      container_id: id,
      bundle: rec.bundle,
      rootfs: opts.rootfs,
      io: { ...opts.io },
      checkpoint: "",
      pid: rec.pid,
    });
    return rec.pid;
  }

  /**
   * The connection to send a task's create on. A grouped shim that became
   * empty meanwhile is exiting: the task moves to another shim. Marks the
   * task held by the shim, synchronously with the send that follows.
   */
  private async sendable(t: Task): Promise<ShimConn> {
    const { namespace: ns, id } = t.rec;
    for (;;) {
      const shim = t.shim;
      if (shim.closing || shim.lost) {
        this.pool.release(shim, id);
        t.shim = this.pool.pick(ns, id);
        t.rec.shimDir = t.shim.dir;
        t.save();
        continue;
      }
      const conn = shim.conn ?? await this.pool.conn(shim);
      if (shim.closing || shim.lost) continue; // changed while it started
      this.pool.hold(shim, id);
      return conn;
    }
  }

  /** Undoes a failed Create: the shim forgets the container, the bundle goes. */
  private async abandon(t: Task): Promise<void> {
    const { rec } = t;
    // A failed create leaves the shim without it (and exiting, if it was its only one).
    this.pool.unhold(t.shim, rec.id);
    const shim = t.shim;
    await shim.conn?.call("delete", { id: rec.id, force: true }).catch(() => {});
    await this.drop(t);
    if (shim.tasks.size === 0) await this.pool.shutdown(shim);
  }

  async start(ns: string, id: string, execId: string): Promise<number> {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId]) throw notFound(`process ${execId}`);
    const conn = this.conn(t);
    t.beginStart(execId);
    let pid: number;
    try {
      ({ pid } = await conn.call("start", { id, execId }));
    } catch (e) {
      const held = t.endStart(execId);
      if (held) this.onExit(t, execId, held);
      throw fromShim(e);
    }
    if (execId) {
      this.publish(ns, "/tasks/exec-started", { container_id: id, exec_id: execId, pid });
    } else {
      this.publish(ns, "/tasks/start", { container_id: id, pid });
    }
    const held = t.endStart(execId);
    if (held) this.onExit(t, execId, held);
    return pid;
  }

  async delete(ns: string, id: string): Promise<ExitRecord> {
    const t = this.task(ns, id);
    t.deleting = this.deleteTask(t);
    try {
      return await t.deleting;
    } catch (e) {
      t.deleting = undefined;
      throw e;
    }
  }

  private async deleteTask(t: Task): Promise<ExitRecord> {
    const { rec, shim } = t;
    let exit: ExitRecord | undefined = rec.exit;
    if (!shim.lost) {
      const conn = this.conn(t);
      const st = await conn.call("state", { id: rec.id }).catch((e) => {
        throw fromShim(e);
      });
      // A known exit is final even if the shim's status lags behind.
      const exited = t.exits.has(INIT) || !!st.exit;
      if (!exited && (st.status === "running" || st.status === "paused")) {
        throw failedPrecondition(
          `cannot delete a running task: task ${rec.id} is ${st.status}; kill it first`,
        );
      }
      rec.phase = "deleting";
      t.save();
      // The shim exits once a delete leaves it no container (counting
      // concurrent deletes): that is no loss, and it must get no new ones.
      const last = shim.held.size - shim.leaving <= 1;
      shim.leaving++;
      if (last) shim.closing = true;
      try {
        exit = await conn.call("delete", { id: rec.id, force: st.status !== "stopped" });
        shim.leaving--;
        this.pool.unhold(shim, rec.id); // together, so concurrent deletes count right
      } catch (e) {
        const err = fromShim(e);
        shim.leaving--;
        // not_found: the shim had already forgotten it (an earlier, interrupted delete).
        if (err.code === Code.NOT_FOUND) this.pool.unhold(shim, rec.id);
        else if (err.code === Code.UNAVAILABLE) {
          // The shim died mid-delete: once it is known lost, reaping ends the delete.
          for (let i = 0; i < 200 && !t.reaping && !t.removed && !shim.conn; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          if (t.reaping) {
            await t.reaping;
            return rec.exit ?? t.exits.get(INIT) ?? st.exit!;
          }
          throw err;
        } else {
          if (last) shim.closing = false;
          rec.phase = "created";
          t.save();
          throw err;
        }
        exit = t.exits.get(INIT) ?? st.exit;
      }
    }
    exit ??= t.exits.get(INIT) ?? { pid: rec.pid, status: 0, exitedAt: nowRfc3339() };
    await this.finishDelete(t, exit);
    return exit;
  }

  /**
   * The end of every delete: the event, then the record and the bundle go,
   * then the id is free again. Runs once per task, whoever asks (a Delete,
   * recovery, the reaping of a lost shim).
   */
  async finishDelete(t: Task, exit: ExitRecord): Promise<void> {
    if (t.removed) return;
    t.removed = true;
    t.deleting ??= Promise.resolve(exit); // hidden from now on
    const { rec } = t;
    this.publish(rec.namespace, "/tasks/delete", {
      container_id: rec.id,
      pid: exit.pid || rec.pid,
      exit_status: exit.status,
      exited_at: toTimestamp(exit.exitedAt),
      id: "",
    });
    removeRecord(rec);
    t.settle(INIT, exit);
    for (const execId of Object.keys(rec.execs)) t.settle(execId, t.exits.get(execId) ?? exit);
    await this.release(t);
  }

  /** Forgets a task that never finished Create (no events: it was never announced). */
  async drop(t: Task): Promise<void> {
    if (t.removed) return;
    t.removed = true;
    t.deleting ??= Promise.resolve({ pid: 0, status: 0, exitedAt: nowRfc3339() });
    removeRecord(t.rec);
    await this.release(t);
  }

  /** Removes a finished task's bundle, then frees its id and its place in the shim. */
  private async release(t: Task): Promise<void> {
    const { rec } = t;
    // The bundle goes before the id is free: a new task of the same id reuses the path.
    await removeBundle(rec.bundle).catch((e) =>
      this.log(`removing ${rec.bundle}: ${(e as Error).message}`)
    );
    if (this.tasks.get(t.key) === t) this.tasks.delete(t.key);
    this.pool.release(t.shim, rec.id);
    if (t.shim.lost && t.shim.tasks.size === 0) this.pool.forget(t.shim);
  }

  async deleteProcess(ns: string, id: string, execId: string): Promise<ExitRecord> {
    if (!execId) return this.delete(ns, id);
    const t = this.task(ns, id);
    if (!t.rec.execs[execId]) throw notFound(`process ${execId}`);
    let exit = t.exits.get(execId);
    if (!t.shim.lost) {
      exit = await this.conn(t).call("delete", { id, execId }).catch((e) => {
        throw fromShim(e);
      });
    }
    if (!exit) throw failedPrecondition(`process ${execId} is still running`);
    delete t.rec.execs[execId];
    t.rec.published = t.rec.published.filter((p) => p !== execId);
    t.exits.delete(execId);
    t.save();
    return exit;
  }

  async exec(ns: string, id: string, execId: string, io: TaskIO, spec: Any | undefined) {
    if (!execId) throw invalidArgument("exec id cannot be empty");
    const t = this.task(ns, id);
    if (t.rec.execs[execId] || t.exits.has(execId)) throw alreadyExists(`id ${execId}`);
    let process: Process;
    try {
      process = JSON.parse(new TextDecoder().decode(spec?.value ?? new Uint8Array()));
      if (typeof process !== "object" || process === null || !Array.isArray(process.args)) {
        throw new Error("process.args is required");
      }
    } catch (e) {
      throw invalidArgument(`exec ${execId}: invalid process spec: ${(e as Error).message}`);
    }
    const stdio = execStdio(io);
    const conn = this.conn(t);
    t.rec.execs[execId] = io; // reserved: a concurrent Exec of the same id fails
    try {
      await conn.call("exec", { id, execId, process, stdio });
    } catch (e) {
      delete t.rec.execs[execId];
      throw fromShim(e);
    }
    t.save();
    this.publish(ns, "/tasks/exec-added", { container_id: id, exec_id: execId });
  }

  async kill(ns: string, id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId]) throw notFound(`process ${execId}`);
    if (t.shim.lost) throw notFound("process already finished");
    await this.conn(t).call("kill", { id, execId, signal, all }).catch((e) => {
      throw fromShim(e);
    });
  }

  async pause(ns: string, id: string): Promise<void> {
    const t = this.task(ns, id);
    await this.conn(t).call("pause", { id }).catch((e) => {
      throw fromShim(e);
    });
    this.publish(ns, "/tasks/paused", { container_id: id });
  }

  async resume(ns: string, id: string): Promise<void> {
    const t = this.task(ns, id);
    await this.conn(t).call("resume", { id }).catch((e) => {
      throw fromShim(e);
    });
    this.publish(ns, "/tasks/resumed", { container_id: id });
  }

  async resize(ns: string, id: string, execId: string, width: number, height: number) {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId]) throw notFound(`process ${execId}`);
    await this.conn(t).call("resize", { id, execId, width, height }).catch((e) => {
      throw fromShim(e);
    });
  }

  async closeIO(ns: string, id: string, execId: string, stdin: boolean): Promise<void> {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId]) throw notFound(`process ${execId}`);
    if (!stdin) return;
    await this.conn(t).call("closeStdin", { id, execId }).catch((e) => {
      throw fromShim(e);
    });
  }

  async update(ns: string, id: string, resources: Any | undefined): Promise<void> {
    const t = this.task(ns, id);
    let res: Resources;
    try {
      res = JSON.parse(new TextDecoder().decode(resources?.value ?? new Uint8Array()));
      if (typeof res !== "object" || res === null) throw new Error("not a JSON object");
    } catch (e) {
      throw invalidArgument(`update ${id}: invalid resources: ${(e as Error).message}`);
    }
    await this.conn(t).call("update", { id, resources: res }).catch((e) => {
      throw fromShim(e);
    });
  }

  async wait(ns: string, id: string, execId: string): Promise<ExitRecord> {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId] && !t.exits.has(execId)) {
      throw notFound(`process ${execId}`);
    }
    return await t.waitExit(execId);
  }

  // ---------------------------------------------------------------- queries

  private processMsg(t: Task, execId: string, st: ProcessState | undefined): ProcessMsg {
    const io = execId ? t.rec.execs[execId] ?? emptyIO : t.rec.io;
    const exit = st?.exit ?? t.exits.get(execId) ?? (execId ? undefined : t.rec.exit);
    return {
      container_id: t.rec.id,
      id: execId || t.rec.id,
      pid: st?.pid ?? exit?.pid ?? (execId ? 0 : t.rec.pid),
      // A known exit is final, whatever the shim's status says meanwhile.
      status: st && !t.exits.has(execId) ? STATUS[st.status] : "STOPPED",
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      terminal: io.terminal,
      exit_status: exit?.status ?? 0,
      exited_at: toTimestamp(exit?.exitedAt),
    };
  }

  async get(ns: string, id: string, execId: string): Promise<ProcessMsg> {
    const t = this.task(ns, id);
    if (execId && !t.rec.execs[execId]) throw notFound(`process ${execId}`);
    if (t.shim.lost) return this.processMsg(t, execId, undefined);
    const st = await this.conn(t).call("state", { id, execId }).catch((e) => {
      throw fromShim(e);
    });
    return this.processMsg(t, execId, st);
  }

  async list(ns: string): Promise<ProcessMsg[]> {
    const mine = [...this.tasks.values()].filter((t) =>
      t.rec.namespace === ns && !t.deleting && t.rec.phase === "created"
    );
    const byShim = new Map<ShimHandle, Task[]>();
    for (const t of mine) byShim.set(t.shim, [...(byShim.get(t.shim) ?? []), t]);
    const out: ProcessMsg[] = [];
    await Promise.all([...byShim].map(async ([shim, ts]) => {
      const states = new Map<string, ProcessState>();
      if (shim.conn && !shim.lost) {
        const { containers } = await shim.conn.call("list", {}).catch(() => ({ containers: [] }));
        for (const c of containers) if (c.execId === INIT) states.set(c.id, c);
      }
      for (const t of ts) out.push(this.processMsg(t, INIT, states.get(t.rec.id)));
    }));
    return out.sort((a, b) => a.container_id < b.container_id ? -1 : 1);
  }

  async pids(ns: string, id: string): Promise<ProcessInfoMsg[]> {
    const t = this.task(ns, id);
    if (t.shim.lost) return [];
    const { pids } = await this.conn(t).call("pids", { id }).catch((e) => {
      throw fromShim(e);
    });
    return pids.map((p) =>
      p.execId ? { pid: p.pid, info: processDetails(p.execId) } : { pid: p.pid }
    );
  }

  /** Metrics of the namespace's tasks that match the filters (stopped ones are skipped). */
  async metrics(ns: string, filters: string[]): Promise<MetricMsg[]> {
    const match = compileFilters(filters);
    const picked = [...this.tasks.values()].filter((t) =>
      t.rec.namespace === ns && t.rec.phase === "created" && !t.deleting && !t.shim.lost &&
      match({ id: t.rec.id, namespace: ns })
    );
    const out: MetricMsg[] = [];
    await Promise.all(picked.map(async (t) => {
      const stats = await t.shim.conn?.call("stats", { id: t.rec.id }).catch(() => undefined);
      if (!stats) return;
      out.push({
        timestamp: toTimestamp(nowRfc3339())!,
        id: t.rec.id,
        data: metricsAny(stats),
      });
    }));
    return out.sort((a, b) => a.id < b.id ? -1 : 1);
  }

  // ---------------------------------------------------------------- exits

  private onShimEvent(h: ShimHandle, ev: Event): void {
    const t = this.tasks.get(`${h.namespace}/${ev.id}`);
    if (!t) return;
    if (ev.type === "exit") {
      // The shim reports no OOM: look at the cgroup before reporting the exit.
      if (ev.execId === INIT && !t.exits.has(INIT) && oomKills(t.rec.bundle, t.rec.id) > 0) {
        this.onOOM(t);
      }
      this.onExit(t, ev.execId, ev.exit);
    } else if (ev.type === "oom") this.onOOM(t);
    // start and delete are published by the calls that cause them.
  }

  /** Publishes TaskOOM (once per task). */
  private onOOM(t: Task): void {
    if (t.oom) return;
    t.oom = true;
    this.publish(t.rec.namespace, "/tasks/oom", { container_id: t.rec.id });
  }

  /** Learns an exit: publishes TaskExit (once, across restarts) and wakes the waiters. */
  onExit(t: Task, execId: string, exit: ExitRecord): void {
    if (t.exits.has(execId) || t.hold(execId, exit)) return;
    t.exits.set(execId, exit);
    if (!t.rec.published.includes(execId)) {
      this.publish(t.rec.namespace, "/tasks/exit", {
        container_id: t.rec.id,
        id: execId || t.rec.id,
        pid: exit.pid,
        exit_status: exit.status,
        exited_at: toTimestamp(exit.exitedAt),
      }, () => {
        // Recorded once out: a crash before that publishes it again at restart.
        if (!t.rec.published.includes(execId)) t.rec.published.push(execId);
        t.save();
      });
    }
    t.settle(execId, exit);
  }

  /**
   * A shim is gone: its containers are killed and deleted through the
   * runtime, and reported exited (the shim's exit file, else 137).
   */
  async reapShim(h: ShimHandle): Promise<void> {
    const mine = [...this.tasks.values()].filter((t) => t.shim === h);
    await Promise.all(mine.map((t) => this.reapTask(t)));
    if (h.tasks.size === 0) this.pool.forget(h);
  }

  /** Reaps a task whose shim is gone (once, however many ask). */
  reapTask(t: Task): Promise<void> {
    if (t.removed) return Promise.resolve();
    t.reaping ??= (async () => {
      const { rec } = t;
      const reaped = await reapContainer(rec.runtimeRoot, rec.id, rec.bundle, rec.pid);
      if (rec.phase === "creating") return await this.drop(t);
      const exit = t.exits.get(INIT) ?? rec.exit ?? reaped;
      rec.exit = exit;
      t.save();
      for (const execId of Object.keys(rec.execs)) {
        this.onExit(t, execId, t.exits.get(execId) ?? { ...exit, pid: 0 });
      }
      this.onExit(t, INIT, exit);
      if (rec.phase === "deleting") await this.finishDelete(t, exit);
    })();
    return t.reaping;
  }
}

/**
 * containerd's filter syntax as far as task metrics need it: alternatives
 * (one per list entry) of comma-separated `field==value` / `field!=value`
 * conditions on id and namespace; an empty list matches everything.
 */
export function compileFilters(filters: string[]): (f: Record<string, string>) => boolean {
  const alts = filters.filter((s) => s.trim()).map((s) =>
    s.split(",").map((cond) => {
      const m = /^\s*([\w.]+)\s*(==|!=)\s*"?([^"]*)"?\s*$/.exec(cond);
      if (!m) throw invalidArgument(`invalid filter "${s}": want field==value`);
      return { field: m[1], neq: m[2] === "!=", value: m[3] };
    })
  );
  return (f) =>
    alts.length === 0 ||
    alts.some((conds) => conds.every((c) => (f[c.field] === c.value) !== c.neq));
}

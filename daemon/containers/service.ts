/**
 * The container life cycle behind the API, on containerd: create (record +
 * rootfs snapshot), start (OCI spec → containerd container + task), exits
 * (one Tasks.Wait per running container), stop/kill/pause, restart
 * policies, removal, and re-adoption of running containers when dockerd
 * starts again (live restore is always on: containers never depend on
 * dockerd).
 *
 * Operations on one container are serialized; the record on disk is updated
 * before an operation reports success.
 */
import type { ContainerCreateBody } from "../api/types.ts";
import { ApiError, badRequest, conflict } from "../api/errors.ts";
import type { Engine } from "../engine.ts";
import { ContainerdCallError } from "../containerd_client.ts";
import { parseSignal as signalOf } from "../../runtime/linux/signals.ts";
import { buildSpec } from "./spec.ts";
import { type ContainerRecord, newContainerId } from "./store.ts";
import { newRecord, validateCreate, ZERO_TIME } from "./create.ts";
import { writeEtcFiles } from "./etc_files.ts";
import { layerDirs, resolveUser } from "./user.ts";
import { LABELS } from "../containerd/tasks/io.ts";
import { ImageError } from "../images/errors.ts";
import { SPEC_TYPE_URL } from "../containerd/tasks/bundle.ts";
import { cgroupsPathOf } from "./stats.ts";

/** gRPC status codes used here. */
const CANCELLED = 1, NOT_FOUND = 5, UNAVAILABLE = 14;

export type WaitCondition = "not-running" | "next-exit" | "removed";

export interface ExitStatus {
  StatusCode: number;
  Error: { Message: string } | null;
}

const isCode = (e: unknown, code: number) => e instanceof ContainerdCallError && e.code === code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timestampIso(ts: unknown): string {
  const t = ts as { seconds?: number | string; nanos?: number } | undefined;
  const s = Number(t?.seconds ?? 0);
  if (!s) return new Date().toISOString();
  const ms = s * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  const iso = new Date(ms).toISOString().slice(0, 19);
  const nanos = String(t?.nanos ?? 0).padStart(9, "0").replace(/0+$/, "");
  return `${iso}${nanos ? "." + nanos : ""}Z`;
}

/** A runtime error as Docker words the failure of a start. */
function startError(e: unknown): ApiError {
  const msg = e instanceof ContainerdCallError ? e.message : (e as Error).message;
  const text = `failed to create task for container: OCI runtime create failed: ${msg}: unknown`;
  // The CLI derives run's exit status from these words (127 not found, 126 cannot run).
  return new ApiError(/not found|no such file/i.test(msg) ? 404 : 400, text);
}

/** An attach client of a container that is not started yet. */
interface AttachWait {
  ready: PromiseWithResolvers<void>;
  connected: PromiseWithResolvers<void>;
}

export class ContainerService {
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #exitWaiters = new Map<string, Set<(s: ExitStatus) => void>>();
  readonly #removeWaiters = new Map<string, Set<(s: ExitStatus) => void>>();
  readonly #watching = new Set<string>();
  readonly #restartTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #oom = new Set<string>();
  readonly #attachWaits = new Map<string, Set<AttachWait>>();
  #closing = false;
  readonly #abort = new AbortController();

  constructor(readonly engine: Engine) {}

  /** Serializes operations on one container. */
  async #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    this.#locks.set(id, run);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === run) this.#locks.delete(id);
    }
  }

  #publish(rec: ContainerRecord, action: string, extra: Record<string, string> = {}) {
    this.engine.events.publish({
      type: "container",
      action,
      id: rec.Id,
      attributes: {
        ...(rec.Config.Labels ?? {}),
        image: rec.Config.Image ?? "",
        name: rec.Name.slice(1),
        ...extra,
      },
    });
  }

  // ------------------------------------------------------------- create

  async create(bodyIn: unknown, name: string | undefined): Promise<{ Id: string; Warnings: [] }> {
    const body = validateCreate(bodyIn) as ContainerCreateBody;
    const { containers, images } = this.engine;
    const image = images.lookup(body.Image!);
    const imageConfig = await images.configOf(image.id);
    const id = newContainerId();
    const reserved = containers.reserveName(name, id);
    const rec = newRecord({
      id,
      name: reserved,
      body,
      imageId: image.id,
      image: imageConfig,
      logPath: `${containers.dir(id)}/${id}-json.log`,
      defaultLogOpts: this.engine.config.logOpts,
    });
    await images.prepareRootfs(id, image.id);
    try {
      containers.save(rec);
    } catch (e) {
      await images.removeRootfs(id).catch(() => {});
      throw e;
    }
    this.#publish(rec, "create");
    return { Id: id, Warnings: [] };
  }

  // -------------------------------------------------------------- start

  start(ref: string): Promise<"started" | "already"> {
    const id = this.engine.containers.get(ref).Id;
    return this.#locked(id, () => this.#start(id, false));
  }

  async #start(id: string, fromRestart: boolean): Promise<"started" | "already"> {
    const { containers, images, containerd } = this.engine;
    const rec = containers.get(id);
    if (rec.State.Running) {
      if (rec.State.Paused) {
        throw conflict(
          `cannot start a paused container, try unpause instead`,
        );
      }
      return "already";
    }
    if (rec.State.Dead || rec.State.Status === "removing") {
      throw conflict(`container is marked for removal and cannot be started`);
    }
    this.#cancelRestart(id);
    const dir = containers.dir(id);
    const mounts = images.rootfsMounts(id);
    let spec;
    try {
      const etc = writeEtcFiles(dir, id, rec.Config, rec.HostConfig);
      const user = resolveUser(rec.Config.User, layerDirs(mounts), rec.HostConfig.GroupAdd ?? []);
      const imageConfig = (await images.configOf(rec.Image)).config ?? {};
      spec = buildSpec({
        id,
        config: rec.Config,
        host: rec.HostConfig,
        image: imageConfig,
        rootfs: "rootfs",
        user,
        etc,
        cgroupsPath: cgroupsPathOf(rec, this.engine.config.cgroupParent),
        args: [rec.Path, ...rec.Args],
      });
      // The client's terminal size from the start (API 1.42's ConsoleSize), not after a resize.
      const size = rec.HostConfig.ConsoleSize as [number, number] | undefined;
      if (rec.Config.Tty && size?.[0] && size?.[1]) {
        spec.process!.consoleSize = { height: size[0], width: size[1] };
      }
    } catch (e) {
      await this.#failStart(rec, e as Error);
      throw e;
    }
    const labels: Record<string, string> = {};
    if (rec.LogPath) {
      labels[LABELS.logPath] = rec.LogPath;
      const opts = rec.HostConfig.LogConfig?.Config ?? {};
      if (opts["max-size"]) labels[LABELS.logMaxSize] = opts["max-size"];
      if (opts["max-file"]) labels[LABELS.logMaxFile] = opts["max-file"];
    }
    if (rec.Config.OpenStdin) labels[LABELS.openStdin] = "true";
    if (rec.Config.StdinOnce) labels[LABELS.stdinOnce] = "true";

    await this.#cleanupTask(id);
    try {
      await containerd.call("containers", "Create", {
        container: {
          id,
          labels,
          image: rec.Config.Image ?? "",
          runtime: { name: "io.containerd.runc.v2" },
          spec: { type_url: SPEC_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(spec)) },
        },
      });
      await containerd.call("tasks", "Create", {
        container_id: id,
        rootfs: mounts,
        terminal: !!rec.Config.Tty,
      });
    } catch (e) {
      await this.#cleanupTask(id);
      const err = startError(e);
      this.#releaseAttaches(id, err);
      await this.#failStart(rec, err);
      throw err;
    }
    await this.#releaseAttaches(id);
    let pid: number;
    try {
      ({ pid } = await containerd.call<{ pid: number }>("tasks", "Start", { container_id: id }));
    } catch (e) {
      await this.#cleanupTask(id);
      const err = startError(e);
      await this.#failStart(rec, err);
      throw err;
    }
    const now = new Date().toISOString();
    const started: ContainerRecord = {
      ...rec,
      State: {
        ...rec.State,
        Status: "running",
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid,
        ExitCode: 0,
        Error: "",
        StartedAt: now,
        FinishedAt: fromRestart ? rec.State.FinishedAt : ZERO_TIME,
      },
      // A start by hand begins a new count (as dockerd's reset restart manager).
      RestartCount: fromRestart ? rec.RestartCount : 0,
      HasBeenManuallyStopped: false,
    };
    containers.save(started);
    this.#oom.delete(id);
    this.#publish(started, "start");
    this.#watch(id);
    return "started";
  }

  /**
   * For a client attaching to a container before its start (`docker run`
   * attaches first): `ready` settles once the task (and the shim's attach
   * socket) exists; the start then waits for `connected` before the process
   * runs, so the client sees all of its output.
   */
  attachBeforeStart(id: string): { ready: Promise<void>; connected: () => void } {
    const w: AttachWait = { ready: Promise.withResolvers(), connected: Promise.withResolvers() };
    w.ready.promise.catch(() => {});
    let set = this.#attachWaits.get(id);
    if (!set) this.#attachWaits.set(id, set = new Set());
    set.add(w);
    return { ready: w.ready.promise, connected: () => w.connected.resolve() };
  }

  async #releaseAttaches(id: string, error?: Error): Promise<void> {
    const waits = [...this.#attachWaits.get(id) ?? []];
    this.#attachWaits.delete(id);
    if (error) {
      for (const w of waits) w.ready.reject(error);
      return;
    }
    for (const w of waits) w.ready.resolve();
    await Promise.race([Promise.all(waits.map((w) => w.connected.promise)), sleep(5000)]);
  }

  /**
   * A start that failed leaves the container stopped with Docker's exit code
   * 128 and the error. One created with AutoRemove (`docker run --rm`) is then
   * removed, as Docker does: the CLI waits for that removal before it exits.
   */
  async #failStart(rec: ContainerRecord, e: Error): Promise<void> {
    const now = this.engine.containers.find(rec.Id);
    if (!now) return;
    const failed: ContainerRecord = {
      ...now,
      State: {
        ...now.State,
        Status: now.State.Status === "created" ? "created" : "exited",
        Running: false,
        Restarting: false,
        Pid: 0,
        ExitCode: 128,
        Error: e.message,
      },
    };
    this.engine.containers.save(failed);
    if (!failed.HostConfig.AutoRemove) return;
    await this.#remove(failed, { force: true }).catch((err) =>
      this.engine.log.warn(`removing ${rec.Id} after its failed start: ${(err as Error).message}`)
    );
  }

  /** Removes containerd's task and container, whatever is left of them. */
  async #cleanupTask(id: string): Promise<void> {
    const { containerd } = this.engine;
    try {
      await containerd.call("tasks", "Delete", { container_id: id });
    } catch (e) {
      if (!isCode(e, NOT_FOUND)) {
        // A task still running: kill it first.
        await containerd.call("tasks", "Kill", { container_id: id, signal: 9, all: true })
          .catch(() => {});
        await containerd.call("tasks", "Wait", { container_id: id }).catch(() => {});
        await containerd.call("tasks", "Delete", { container_id: id }).catch(() => {});
      }
    }
    await containerd.call("containers", "Delete", { id }).catch((e) => {
      if (!isCode(e, NOT_FOUND)) this.engine.log.warn(`delete containerd container ${id}: ${e}`);
    });
  }

  // -------------------------------------------------------------- exits

  /** Waits (through containerd) for the container's exit, then records it. */
  #watch(id: string): void {
    if (this.#watching.has(id)) return;
    this.#watching.add(id);
    (async () => {
      try {
        for (;;) {
          if (this.#closing) return;
          try {
            const r = await this.engine.containerd.call<
              { exit_status: number; exited_at: unknown }
            >("tasks", "Wait", { container_id: id });
            await this.#locked(id, () => this.#exited(id, r.exit_status, r.exited_at));
            return;
          } catch (e) {
            if (this.#closing || isCode(e, CANCELLED)) return;
            if (isCode(e, NOT_FOUND)) {
              await this.#locked(id, () => this.#exited(id, 255, undefined, "task not found"));
              return;
            }
            // containerd restarting: wait for it to come back.
            if (!isCode(e, UNAVAILABLE)) this.engine.log.warn(`wait for ${id}: ${e}`);
            await sleep(500);
          }
        }
      } finally {
        this.#watching.delete(id);
      }
    })();
  }

  async #exited(id: string, code: number, exitedAt: unknown, error = ""): Promise<void> {
    const { containers } = this.engine;
    const rec = containers.find(id);
    if (!rec || !rec.State.Running) return;
    await this.#cleanupTask(id);
    const oom = this.#oom.delete(id);
    const state = {
      ...rec.State,
      Status: "exited" as const,
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: oom,
      Pid: 0,
      ExitCode: code,
      Error: error,
      FinishedAt: exitedAt ? timestampIso(exitedAt) : new Date().toISOString(),
    };
    const after: ContainerRecord = { ...rec, State: state };
    containers.save(after);
    if (oom) this.#publish(after, "oom");
    this.#publish(after, "die", { exitCode: String(code) });
    const status: ExitStatus = { StatusCode: code, Error: error ? { Message: error } : null };
    for (const w of this.#exitWaiters.get(id) ?? []) w(status);
    this.#exitWaiters.delete(id);

    if (after.HostConfig.AutoRemove) {
      await this.#remove(after, { force: true });
      return;
    }
    if (this.#shouldRestart(after)) this.#scheduleRestart(after);
  }

  // -------------------------------------------------- restart policies

  #shouldRestart(rec: ContainerRecord): boolean {
    if (rec.HasBeenManuallyStopped || this.#closing) return false;
    const p = rec.HostConfig.RestartPolicy ?? { Name: "no" };
    switch (p.Name) {
      case "always":
      case "unless-stopped":
        return true;
      case "on-failure":
        return rec.State.ExitCode !== 0 &&
          (!p.MaximumRetryCount || rec.RestartCount < p.MaximumRetryCount);
      default:
        return false;
    }
  }

  /** Docker's back-off: 100 ms doubling per restart, reset after 10 s of running. */
  #scheduleRestart(rec: ContainerRecord): void {
    const ran = Date.parse(rec.State.FinishedAt) - Date.parse(rec.State.StartedAt);
    const count = ran > 10_000 ? 0 : rec.RestartCount;
    const delay = Math.min(100 * 2 ** count, 60_000);
    const restarting: ContainerRecord = {
      ...rec,
      RestartCount: rec.RestartCount + 1,
      State: { ...rec.State, Status: "restarting", Restarting: true },
    };
    this.engine.containers.save(restarting);
    const timer = setTimeout(() => {
      this.#restartTimers.delete(rec.Id);
      this.#locked(rec.Id, async () => {
        const now = this.engine.containers.find(rec.Id);
        if (!now || !now.State.Restarting) return;
        try {
          await this.#start(rec.Id, true);
          this.#publish(this.engine.containers.get(rec.Id), "restart");
        } catch (e) {
          this.engine.log.error(`restart of ${rec.Id}: ${(e as Error).message}`);
        }
      });
    }, delay);
    this.#restartTimers.set(rec.Id, timer);
  }

  #cancelRestart(id: string): boolean {
    const t = this.#restartTimers.get(id);
    if (t === undefined) return false;
    clearTimeout(t);
    this.#restartTimers.delete(id);
    return true;
  }

  /** A restarting container that is stopped, killed or removed stays down. */
  #stopRestarting(rec: ContainerRecord): void {
    this.#cancelRestart(rec.Id);
    this.engine.containers.save({
      ...rec,
      HasBeenManuallyStopped: true,
      State: { ...rec.State, Status: "exited", Restarting: false },
    });
  }

  // ------------------------------------------------------ stop and kill

  #nextExit(id: string): Promise<ExitStatus> {
    return new Promise((resolve) => {
      let set = this.#exitWaiters.get(id);
      if (!set) this.#exitWaiters.set(id, set = new Set());
      set.add(resolve);
    });
  }

  async #signal(id: string, signal: number): Promise<void> {
    try {
      await this.engine.containerd.call("tasks", "Kill", { container_id: id, signal, all: false });
    } catch (e) {
      // Already gone: the exit is on its way.
      if (!isCode(e, NOT_FOUND)) throw e;
    }
  }

  /** `docker stop`: the stop signal, then SIGKILL after the timeout. */
  stop(ref: string, opts: { timeout?: number; signal?: string }): Promise<"stopped" | "already"> {
    const rec0 = this.engine.containers.get(ref);
    return this.#stopLocked(rec0.Id, opts);
  }

  async #stopLocked(
    id: string,
    opts: { timeout?: number; signal?: string },
  ): Promise<"stopped" | "already"> {
    const exit = await this.#locked(id, async () => {
      const rec = this.engine.containers.get(id);
      if (rec.State.Restarting) {
        this.#stopRestarting(rec);
        return null;
      }
      if (!rec.State.Running) return null;
      this.engine.containers.save({ ...rec, HasBeenManuallyStopped: true });
      const sig = parseSignal(opts.signal || rec.Config.StopSignal || "SIGTERM");
      const exited = this.#nextExit(id);
      await this.#signal(id, sig);
      if (rec.State.Paused) {
        await this.engine.containerd.call("tasks", "Resume", { container_id: id }).catch(() => {});
      }
      this.#publish(rec, "kill", { signal: String(sig) });
      return { exited, rec };
    });
    if (!exit) return "already";
    const timeout = opts.timeout ?? exit.rec.Config.StopTimeout ?? 10;
    if (timeout >= 0) {
      const timedOut = await Promise.race([
        exit.exited.then(() => false),
        sleep(timeout * 1000).then(() => true),
      ]);
      if (timedOut) {
        await this.#signal(id, 9);
        this.#publish(exit.rec, "kill", { signal: "9" });
      }
    }
    await exit.exited;
    this.#publish(this.engine.containers.get(id), "stop");
    return "stopped";
  }

  /** `docker kill`: one signal; a container that is not running is a conflict. */
  kill(ref: string, signal: string | undefined): Promise<void> {
    // The signal is checked before the container is looked up (as dockerd's router does).
    const sig = parseSignal(signal || "SIGKILL");
    const id = this.engine.containers.get(ref).Id;
    return this.#locked(id, async () => {
      const rec = this.engine.containers.get(id);
      if (!rec.State.Running || rec.State.Restarting) {
        if (rec.State.Restarting) this.#stopRestarting(rec);
        else throw conflict(`Cannot kill container: ${ref}: Container ${id} is not running`);
        return;
      }
      // Any `docker kill` is a manual stop: the restart policy skips the next exit (as dockerd).
      this.engine.containers.save({ ...rec, HasBeenManuallyStopped: true });
      await this.#signal(id, sig);
      if (sig === 9 && rec.State.Paused) {
        await this.engine.containerd.call("tasks", "Resume", { container_id: id }).catch(() => {});
      }
      this.#publish(rec, "kill", { signal: String(sig) });
    });
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    const id = this.engine.containers.get(ref).Id;
    await this.#stopLocked(id, opts);
    await this.#locked(id, () => this.#start(id, false));
    this.#publish(this.engine.containers.get(id), "restart");
  }

  pause(ref: string): Promise<void> {
    const id = this.engine.containers.get(ref).Id;
    return this.#locked(id, async () => {
      const rec = this.engine.containers.get(id);
      if (!rec.State.Running) throw conflict(`Container ${id} is not running`);
      if (rec.State.Paused) throw conflict(`Container ${id} is already paused`);
      if (rec.State.Restarting) {
        throw conflict(`Container ${id} is restarting, wait until the container is running`);
      }
      await this.engine.containerd.call("tasks", "Pause", { container_id: id });
      const after = { ...rec, State: { ...rec.State, Status: "paused" as const, Paused: true } };
      this.engine.containers.save(after);
      this.#publish(after, "pause");
    });
  }

  unpause(ref: string): Promise<void> {
    const id = this.engine.containers.get(ref).Id;
    return this.#locked(id, async () => {
      const rec = this.engine.containers.get(id);
      if (!rec.State.Paused) throw conflict(`Container ${id} is not paused`);
      await this.engine.containerd.call("tasks", "Resume", { container_id: id });
      const after = { ...rec, State: { ...rec.State, Status: "running" as const, Paused: false } };
      this.engine.containers.save(after);
      this.#publish(after, "unpause");
    });
  }

  // ---------------------------------------------------------------- wait

  /**
   * Resolves when `condition` is met. The returned `registered` promise is
   * settled once the waiter is in place, so a caller can answer the HTTP
   * headers before the container exits (the CLI waits before it starts).
   */
  wait(ref: string, condition: WaitCondition): Promise<ExitStatus> {
    const rec = this.engine.containers.get(ref);
    const id = rec.Id;
    if (condition === "removed") {
      return new Promise((resolve) => {
        let set = this.#removeWaiters.get(id);
        if (!set) this.#removeWaiters.set(id, set = new Set());
        set.add(resolve);
      });
    }
    if (condition === "not-running" && !rec.State.Running && !rec.State.Restarting) {
      return Promise.resolve({
        StatusCode: rec.State.ExitCode,
        Error: rec.State.Error ? { Message: rec.State.Error } : null,
      });
    }
    return this.#nextExit(id);
  }

  // -------------------------------------------------------------- remove

  remove(ref: string, opts: { force: boolean }): Promise<void> {
    const id = this.engine.containers.get(ref).Id;
    return this.#locked(id, async () => {
      const rec = this.engine.containers.find(id);
      if (!rec) return;
      await this.#remove(rec, opts);
    });
  }

  async #remove(rec: ContainerRecord, opts: { force: boolean }): Promise<void> {
    const id = rec.Id;
    if (rec.State.Running && !rec.State.Restarting) {
      if (!opts.force) {
        throw conflict(
          `You cannot remove a ${rec.State.Paused ? "paused" : "running"} container ${id}. ` +
            `Stop the container before attempting removal or force remove`,
        );
      }
      const exited = this.#nextExit(id);
      this.engine.containers.save({ ...rec, HasBeenManuallyStopped: true });
      await this.#signal(id, 9);
      if (rec.State.Paused) {
        await this.engine.containerd.call("tasks", "Resume", { container_id: id }).catch(() => {});
      }
      // The exit is recorded by the watcher, which needs this container's lock: record it here.
      const r = await Promise.race([
        exited.then(() => true),
        this.engine.containerd.call<{ exit_status: number; exited_at: unknown }>(
          "tasks",
          "Wait",
          { container_id: id },
        ).then(async (w) => {
          await this.#exited(id, w.exit_status, w.exited_at);
          return true;
        }).catch(() => false),
      ]);
      if (!r) await this.#cleanupTask(id);
    }
    this.#cancelRestart(id);
    await this.#cleanupTask(id);
    await this.engine.images.removeRootfs(id).catch((e) => {
      // A record without a snapshot (made by hand, or a crash mid-create) is still removable.
      if (!(e instanceof ImageError && e.kind === "not-found")) throw e;
    });
    try {
      Deno.removeSync(`${this.engine.config.execRoot}/attach/${id.slice(0, 16)}`);
    } catch { /* never attached */ }
    const current = this.engine.containers.find(id);
    if (current) {
      this.engine.containers.remove(id);
      this.#publish(current, "destroy");
    }
    const status: ExitStatus = { StatusCode: current?.State.ExitCode ?? 0, Error: null };
    for (const w of this.#removeWaiters.get(id) ?? []) w(status);
    this.#removeWaiters.delete(id);
  }

  // ----------------------------------------------------- daemon start/stop

  /**
   * At dockerd's start: running containers are re-adopted (their exits
   * watched again), exits that happened while dockerd was down are
   * recorded, and restart policies apply.
   */
  async restore(): Promise<void> {
    const { containers, containerd, log } = this.engine;
    this.#subscribeOom();
    for (const rec of containers.all()) {
      if (rec.State.Restarting) {
        containers.save({ ...rec, State: { ...rec.State, Restarting: false, Status: "exited" } });
      }
      if (!rec.State.Running || rec.State.Restarting) continue;
      try {
        const { process } = await containerd.call<
          { process: { status: string; exit_status: number; exited_at: unknown; pid: number } }
        >("tasks", "Get", { container_id: rec.Id });
        if (process.status === "STOPPED") {
          await this.#locked(
            rec.Id,
            () => this.#exited(rec.Id, process.exit_status, process.exited_at),
          );
        } else {
          const paused = process.status === "PAUSED";
          containers.save({
            ...rec,
            State: { ...rec.State, Paused: paused, Status: paused ? "paused" : "running" },
          });
          this.#watch(rec.Id);
        }
      } catch (e) {
        if (!isCode(e, NOT_FOUND)) {
          log.warn(`restore ${rec.Id}: ${(e as Error).message}`);
          this.#watch(rec.Id);
          continue;
        }
        // The task is gone (host rebooted, containerd state lost): it exited unseen.
        await this.#locked(
          rec.Id,
          () => this.#exited(rec.Id, 255, undefined, "task not found at daemon start"),
        );
      }
    }
    // Restart policies at daemon start: `always` even after a manual stop (as dockerd).
    for (const rec of containers.all()) {
      if (rec.State.Running || rec.State.Status === "created") continue;
      const always = rec.HostConfig.RestartPolicy?.Name === "always";
      if (!always && !this.#shouldRestart(rec)) continue;
      this.#locked(rec.Id, () => this.#start(rec.Id, true)).catch((e) =>
        log.error(`start of ${rec.Id} (restart policy): ${(e as Error).message}`)
      );
    }
  }

  /** OOM kills, from containerd's events (best effort: a missed one leaves OOMKilled false). */
  #subscribeOom(): void {
    (async () => {
      while (!this.#closing) {
        try {
          for await (
            const ev of this.engine.containerd.subscribe(
              ['topic=="/tasks/oom"'],
              this.#abort.signal,
            )
          ) {
            const id = String(ev.event?.container_id ?? "");
            if (id) this.#oom.add(id);
          }
        } catch { /* containerd away: retry */ }
        if (!this.#closing) await sleep(1000);
      }
    })();
  }

  /** dockerd is stopping: containers keep running, nothing more is watched. */
  close(): void {
    this.#closing = true;
    this.#abort.abort();
    for (const t of this.#restartTimers.values()) clearTimeout(t);
  }

  /** The record of a container that can run an exec (Docker's 409s otherwise). */
  running(ref: string): ContainerRecord {
    const rec = this.engine.containers.get(ref);
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) {
      throw conflict(`Container ${ref} is paused, unpause the container before exec`);
    }
    if (rec.State.Restarting) {
      throw conflict(`Container ${rec.Id} is restarting, wait until the container is running`);
    }
    return rec;
  }
}

/** "SIGTERM", "TERM", "15" → 15; Docker's 400 for anything else. */
export function parseSignal(s: string): number {
  try {
    return signalOf(s);
  } catch {
    throw badRequest(`Invalid signal: ${s}`);
  }
}

/**
 * One container supervised by the shim: its init and exec processes. With
 * berth's own runtime (the default) the shim calls it in-process
 * (runtime_lib.ts) and the processes are its own children, which Deno reaps.
 * With a runtime binary named by the caller, every step is that binary's
 * command (`runc create/start/exec/kill/delete`), which exits after each; the
 * shim, a child subreaper, then becomes the processes' parent and reaps them
 * (reaper.ts).
 */
import {
  CONTAINER_FILES,
  type ContainerRecord,
  type CreateParams,
  type ExecParams,
  type ExitRecord,
  INIT,
  type PidInfo,
  type ProcessState,
  type ProcessStatus,
} from "./api.ts";
import { acceptEach } from "./accept.ts";
import { listenUnixSocket } from "../runtime/linux/unix_socket.ts";
import { ShimFailure } from "./errors.ts";
import { OomWatch } from "./oom.ts";
import { ProcessIO } from "./process_io.ts";
import { watchPid } from "./reaper.ts";
import { nowRFC3339Nano, readJson, writeJsonDurable } from "./records.ts";
import { mountRootfs, unmountRootfs } from "./rootfs.ts";
import { RuntimeCli } from "./runtime_cli.ts";
import { RuntimeLib } from "./runtime_lib.ts";
import { spawnInProcess, spawnWithStdio } from "./spawn.ts";
import { kill } from "../runtime/linux/libc.ts";
import type { Process } from "../runtime/spec/types.ts";

export type { ContainerRecord };
export { ShimFailure };

export interface Emitter {
  exit(id: string, execId: string, exit: ExitRecord): void;
  start(id: string, execId: string, pid: number): void;
  oom(id: string): void;
}

class Proc {
  pid = 0;
  status: ProcessStatus = "created";
  exit?: ExitRecord;
  readonly exited: Promise<ExitRecord>;
  resolveExit!: (e: ExitRecord) => void;
  constructor(readonly execId: string, readonly io: ProcessIO, readonly spec?: Process) {
    this.exited = new Promise((r) => this.resolveExit = r);
  }
}

export class Container {
  readonly procs = new Map<string, Proc>();
  /** Set while create runs. */
  creating?: Promise<number>;
  rec: ContainerRecord;
  #attachServer?: Deno.Listener;
  readonly #oom: OomWatch;
  readonly #rt: RuntimeCli;
  /** berth's own runtime in-process, unless the caller named a runtime binary. */
  readonly #lib?: RuntimeLib;

  constructor(readonly params: CreateParams, readonly events: Emitter) {
    this.#oom = new OomWatch(params.bundle, params.id, () => events.oom(params.id));
    this.#rt = new RuntimeCli(params);
    if (!params.runtime) this.#lib = new RuntimeLib(params);
    this.rec = {
      id: params.id,
      bundle: params.bundle,
      runtimeRoot: params.runtimeRoot,
      runtime: params.runtime,
      pid: 0,
      status: "created",
      stdio: params.stdio,
      rootfsMounted: false,
      shimPid: Deno.pid,
    };
  }

  get id(): string {
    return this.params.id;
  }
  get init(): Proc {
    return this.procs.get(INIT)!;
  }
  #path(name: string): string {
    return `${this.params.bundle}/${name}`;
  }
  #save(): void {
    writeJsonDurable(this.#path(CONTAINER_FILES.record), this.rec);
  }

  // ---- lifecycle ------------------------------------------------------------

  async create(): Promise<number> {
    Deno.mkdirSync(this.#path(CONTAINER_FILES.exits), { recursive: true });
    this.#save();
    try {
      if (this.params.rootfs?.length) {
        mountRootfs(this.params.rootfs, this.#path("rootfs"));
        this.rec.rootfsMounted = true;
        this.#save();
      }
      const io = new ProcessIO(this.params.stdio, this.params.stdio.log);
      io.openPaths();
      const init = new Proc(INIT, io);
      this.procs.set(INIT, init);
      let pid: number;
      /** The init's exit when it is the shim's own child; else the reaper watches its pid. */
      let exit: Promise<number> | undefined;
      if (this.#lib) {
        const lib = this.#lib;
        ({ pid, exit } = await spawnInProcess(io, (how) =>
          lib.create({
            id: this.id,
            bundle: this.params.bundle,
            pidFile: this.#path("init.pid"),
            noPivot: this.params.noPivot ?? false,
            ...how,
          })));
      } else {
        pid = await spawnWithStdio(this.#rt, io, {
          name: "init",
          args: [
            "create",
            "--bundle",
            this.params.bundle,
            ...(this.params.noPivot ? ["--no-pivot"] : []),
            this.id,
          ],
        });
      }
      init.pid = pid;
      this.rec.pid = pid;
      this.#save();
      if (exit) exit.then((code) => this.#exited(init, code));
      else watchPid(pid, (code) => this.#exited(init, code));
      this.#oom.start();
      await this.#listenAttach();
      return pid;
    } catch (e) {
      await this.cleanup();
      throw e;
    }
  }

  async start(execId = INIT): Promise<number> {
    const p = this.#proc(execId);
    if (p.status !== "created") {
      throw new ShimFailure("failed_precondition", `process ${execId || this.id} is ${p.status}`);
    }
    if (execId === INIT) {
      if (this.#lib) await this.#lib.start(this.id);
      else await this.#rt.run(["start", this.id]);
      // The process may already have exited (and been reaped) by now.
      if (!p.exit) {
        p.status = "running";
        this.rec.status = "running";
        this.#save();
      }
    } else {
      if (this.init.status === "stopped") {
        throw new ShimFailure("failed_precondition", `container ${this.id} is not running`);
      }
      // An exit may come before the pid: held until the process is recorded.
      let exitCode: number | undefined;
      let onExit: (code: number) => void = (code) => {
        exitCode = code;
      };
      if (this.#lib) {
        const lib = this.#lib;
        const spawned = await spawnInProcess(
          p.io,
          (how) => lib.exec({ id: this.id, process: p.spec!, ...how }),
        );
        p.pid = spawned.pid;
        spawned.exit.then((code) => onExit(code));
      } else {
        const specPath = this.#path(`exec-${execId}.json`);
        writeJsonDurable(specPath, p.spec);
        // In the foreground, then adopted (adopt.ts): a detached runtime (a Deno
        // process) would reap an exec that exits before it does, losing the status.
        p.pid = await spawnWithStdio(this.#rt, p.io, {
          name: execId,
          args: ["exec", "--process", specPath, this.id],
          onExit: (code) => onExit(code),
        });
      }
      if (!p.exit) p.status = "running";
      onExit = (code) => void this.#exited(p, code);
      if (exitCode !== undefined) onExit(exitCode);
    }
    this.events.start(this.id, execId, p.pid);
    return p.pid;
  }

  exec(params: ExecParams): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(params.execId)) {
      throw new ShimFailure("invalid_argument", `invalid exec id ${JSON.stringify(params.execId)}`);
    }
    if (this.procs.has(params.execId)) {
      throw new ShimFailure("already_exists", `exec process ${params.execId}: already exists`);
    }
    if (this.init.status !== "running" && this.init.status !== "paused") {
      throw new ShimFailure("failed_precondition", `container ${this.id} is not running`);
    }
    const io = new ProcessIO(params.stdio);
    io.openPaths();
    this.procs.set(params.execId, new Proc(params.execId, io, params.process));
  }

  async kill(execId: string, signal: number, all: boolean): Promise<void> {
    const p = this.#proc(execId);
    if (p.status === "stopped") {
      throw new ShimFailure("not_found", `process ${execId || this.id}: process already finished`);
    }
    if (execId === INIT) {
      if (this.#lib) await this.#lib.kill(this.id, signal, all);
      else await this.#rt.run(["kill", ...(all ? ["--all"] : []), this.id, String(signal)]);
    } else {
      kill(p.pid, signal);
    }
  }

  async pause(): Promise<void> {
    await this.#rt.run(["pause", this.id]);
    if (this.init.exit) return;
    this.init.status = "paused";
    this.rec.status = "paused";
    this.#save();
  }

  async resume(): Promise<void> {
    await this.#rt.run(["resume", this.id]);
    if (this.init.exit) return;
    this.init.status = "running";
    this.rec.status = "running";
    this.#save();
  }

  resize(execId: string, width: number, height: number): void {
    const io = this.#proc(execId).io;
    if (io.master === undefined) {
      throw new ShimFailure("failed_precondition", `process ${execId || this.id} has no terminal`);
    }
    io.resize(width, height);
  }

  closeStdin(execId: string): void {
    this.#proc(execId).io.closeStdin();
  }

  async pids(): Promise<PidInfo[]> {
    const out = await this.#rt.run(["ps", "--format", "json", this.id]);
    const pids = JSON.parse(out || "[]") as number[];
    const byPid = new Map([...this.procs.values()].map((p) => [p.pid, p.execId]));
    return pids.map((pid) => {
      const execId = byPid.get(pid);
      return execId ? { pid, execId } : { pid };
    });
  }

  async stats(): Promise<Record<string, unknown>> {
    const out = await this.#rt.run(["events", "--stats", this.id]);
    return JSON.parse(out).data ?? {};
  }

  async update(resources: unknown): Promise<void> {
    await this.#rt.run(["update", "--resources", "-", this.id], JSON.stringify(resources));
  }

  wait(execId: string): Promise<ExitRecord> {
    return this.#proc(execId).exited;
  }

  state(execId: string): ProcessState {
    const p = this.#proc(execId);
    return {
      id: this.id,
      execId,
      pid: p.pid,
      status: p.status,
      bundle: this.params.bundle,
      stdio: p.io.stdio,
      ...(p.exit ? { exit: p.exit } : {}),
    };
  }

  /** Deletes an exec process (returns its exit) or the container (runtime delete). */
  async delete(execId: string, force: boolean): Promise<ExitRecord> {
    const p = this.#proc(execId);
    if (execId !== INIT) {
      if (p.status !== "stopped") {
        throw new ShimFailure("failed_precondition", `exec ${execId} is still running`);
      }
      this.procs.delete(execId);
      p.io.dispose();
      return p.exit!;
    }
    if (p.status !== "stopped" && p.status !== "created" && !force) {
      throw new ShimFailure(
        "failed_precondition",
        `cannot delete a running container ${this.id} (stop it first, or force)`,
      );
    }
    const runtimeDelete = async (force: boolean): Promise<void> => {
      if (this.#lib) await this.#lib.delete(this.id, force);
      else await this.#rt.run(["delete", ...(force ? ["--force"] : []), this.id]);
    };
    if (p.status !== "stopped") {
      await runtimeDelete(true).catch(() => {});
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))]);
    } else {
      await runtimeDelete(false).catch(() => runtimeDelete(true));
    }
    const exit = p.exit ?? { pid: p.pid, status: 137, exitedAt: nowRFC3339Nano() };
    await this.cleanup();
    return exit;
  }

  /** Unmounts, closes and removes what the shim made for this container. */
  async cleanup(): Promise<void> {
    this.#oom.stop();
    for (const p of this.procs.values()) p.io.dispose();
    this.#attachServer?.close();
    this.#attachServer = undefined;
    if (this.rec.rootfsMounted) {
      unmountRootfs(this.#path("rootfs"));
      this.rec.rootfsMounted = false;
    }
    for (const f of [CONTAINER_FILES.record, CONTAINER_FILES.attach]) {
      await Deno.remove(this.#path(f)).catch(() => {});
    }
  }

  #proc(execId: string | undefined): Proc {
    const p = this.procs.get(execId ?? INIT);
    if (!p) throw new ShimFailure("not_found", `process ${execId}: not found`);
    return p;
  }

  async #exited(p: Proc, code: number): Promise<void> {
    const exit: ExitRecord = { pid: p.pid, status: code, exitedAt: nowRFC3339Nano() };
    // Durable before anyone hears of it.
    writeJsonDurable(this.#path(`${CONTAINER_FILES.exits}/${p.execId || "init"}.json`), exit);
    p.exit = exit;
    p.status = "stopped";
    if (p.execId === INIT) {
      this.rec.status = "stopped";
      this.#save();
      // An OOM kill is reported before the exit it caused.
      this.#oom.stop();
      this.#oom.check();
    }
    // Let the last output reach the log before the exit is reported.
    await p.io.drained(2000);
    p.io.end();
    p.resolveExit(exit);
    this.events.exit(this.id, p.execId, exit);
  }

  // ---- attach ---------------------------------------------------------------

  async #listenAttach(): Promise<void> {
    const path = this.#path(CONTAINER_FILES.attach);
    await Deno.remove(path).catch(() => {});
    const listener = listenUnixSocket(path);
    Deno.chmodSync(path, 0o600);
    this.#attachServer = listener;
    const { serveAttach } = await import("./attach.ts");
    acceptEach(
      listener,
      `attach ${this.id}`,
      (conn) => serveAttach(conn, (execId) => this.procs.get(execId ?? INIT)?.io, this.id),
    );
  }
}

/** A container record left by a shim (for containerd after a shim died). */
export function readContainerRecord(bundle: string): ContainerRecord | undefined {
  return readJson<ContainerRecord>(`${bundle}/${CONTAINER_FILES.record}`);
}

/**
 * `docker exec`: exec instances are created (configuration only), started
 * (containerd Tasks.Exec + Start, stdio through the shim's attach socket)
 * and inspected. Like dockerd, instances live in memory: a restarted daemon
 * forgets them (their processes are not lost: the shim still reaps them).
 */
import type { Process } from "../../runtime/spec/types.ts";
import { ApiError, badRequest, notFound } from "../api/errors.ts";
import type { Engine } from "../engine.ts";
import { allCaps, mergeEnv } from "./spec.ts";
import { layerDirs, resolveUser } from "./user.ts";
import { ContainerdCallError } from "../containerd_client.ts";

const PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/** POST /containers/{id}/exec body. */
export interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  Env?: string[] | null;
  Cmd?: string[] | string;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** GET /exec/{id}/json */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: {
    tty: boolean;
    entrypoint: string;
    arguments: string[];
    privileged: boolean;
    user?: string;
  };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

interface ExecInstance {
  id: string;
  containerId: string;
  config: Omit<ExecCreateBody, "Cmd"> & { Cmd: string[] };
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  exited: Promise<void>;
  markExited: () => void;
  /** Resolves once the process runs. */
  ran: PromiseWithResolvers<void>;
}

function newExecId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class ExecService {
  readonly #execs = new Map<string, ExecInstance>();

  constructor(readonly engine: Engine) {}

  create(ref: string, body: unknown): { Id: string } {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest("exec config cannot be empty");
    }
    const b = body as ExecCreateBody;
    const cmd = typeof b.Cmd === "string" ? [b.Cmd] : b.Cmd;
    if (!cmd?.length || !cmd[0]) throw badRequest("No exec command specified");
    const rec = this.engine.lifecycle.running(ref);
    const id = newExecId();
    let exitedResolve!: () => void;
    const exited = new Promise<void>((r) => exitedResolve = r);
    this.#execs.set(id, {
      id,
      containerId: rec.Id,
      config: { ...b, Cmd: cmd },
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
      exited,
      markExited: exitedResolve,
      ran: Promise.withResolvers(),
    });
    this.engine.containers.save({ ...rec, ExecIDs: [...rec.ExecIDs, id] });
    this.engine.events.publish({
      type: "container",
      action: `exec_create: ${cmd.join(" ")}`,
      id: rec.Id,
      attributes: { execID: id, image: rec.Config.Image ?? "", name: rec.Name.slice(1) },
    });
    return { Id: id };
  }

  get(id: string): ExecInstance {
    const e = this.#execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  inspect(id: string): ExecInspect {
    const e = this.get(id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: !!e.config.Tty,
        entrypoint: e.config.Cmd[0],
        arguments: e.config.Cmd.slice(1),
        privileged: !!e.config.Privileged,
        ...(e.config.User ? { user: e.config.User } : {}),
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdout: !!e.config.AttachStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? "",
      Pid: e.pid,
    };
  }

  /** The process the exec runs: the container's, with the exec's overrides. */
  async #process(e: ExecInstance, tty: boolean): Promise<Process> {
    const { containerd, images, containers } = this.engine;
    const { container } = await containerd.call<{ container: { spec: { value: Uint8Array } } }>(
      "containers",
      "Get",
      { id: e.containerId },
    );
    const spec = JSON.parse(new TextDecoder().decode(container.spec.value));
    const base: Process = spec.process;
    const rec = containers.get(e.containerId);
    const c = e.config;
    const proc: Process = {
      ...base,
      terminal: tty,
      args: c.Cmd,
      env: mergeEnv(base.env, c.Env),
      cwd: c.WorkingDir || base.cwd,
    };
    delete proc.consoleSize;
    if (tty && c.ConsoleSize?.length === 2 && c.ConsoleSize[0] && c.ConsoleSize[1]) {
      proc.consoleSize = { height: c.ConsoleSize[0], width: c.ConsoleSize[1] };
    }
    if (c.User) {
      proc.user = resolveUser(
        c.User,
        layerDirs(images.rootfsMounts(rec.Id)),
        rec.HostConfig.GroupAdd ?? [],
      );
    }
    if (c.Privileged) {
      const all = allCaps();
      proc.capabilities = { bounding: all, effective: all, permitted: all, inheritable: [] };
    }
    return proc;
  }

  /** Starts an exec whose output nobody attaches to (detached). */
  async start(id: string, opts: { tty?: boolean } = {}): Promise<void> {
    await this.prepare(id, opts);
    await this.run(id);
  }

  /**
   * Creates the exec's process in the task (not running yet): attach clients
   * connect between this and {@link run}, so none of its output is missed.
   */
  async prepare(id: string, opts: { tty?: boolean } = {}): Promise<void> {
    const e = this.get(id);
    if (e.started) {
      throw new ApiError(409, `Error: Exec command ${id} has already run`);
    }
    const rec = this.engine.lifecycle.running(e.containerId);
    e.started = true;
    const tty = opts.tty ?? !!e.config.Tty;
    const proc = await this.#process(e, tty);
    try {
      await this.engine.containerd.call("tasks", "Exec", {
        container_id: rec.Id,
        exec_id: id,
        terminal: tty,
        spec: { type_url: PROCESS_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(proc)) },
      });
    } catch (err) {
      e.exitCode = 126;
      e.markExited();
      throw execError(err);
    }
  }

  /** Starts a prepared exec and watches for its exit. */
  async run(id: string): Promise<void> {
    const e = this.get(id);
    const { containerd } = this.engine;
    try {
      const { pid } = await containerd.call<{ pid: number }>("tasks", "Start", {
        container_id: e.containerId,
        exec_id: id,
      });
      e.pid = pid;
      e.running = true;
      e.ran.resolve();
    } catch (err) {
      const msg = (err as Error).message;
      e.exitCode = /not found|no such file/i.test(msg) ? 127 : 126;
      e.markExited();
      await containerd.call("tasks", "DeleteProcess", { container_id: e.containerId, exec_id: id })
        .catch(() => {});
      throw execError(err);
    }
    const rec = this.engine.containers.get(e.containerId);
    this.engine.events.publish({
      type: "container",
      action: `exec_start: ${e.config.Cmd.join(" ")}`,
      id: rec.Id,
      attributes: { execID: id, image: rec.Config.Image ?? "", name: rec.Name.slice(1) },
    });
    this.#watch(e);
  }

  #watch(e: ExecInstance): void {
    const { containerd } = this.engine;
    (async () => {
      for (let tries = 0; tries < 120; tries++) {
        try {
          const r = await containerd.call<{ exit_status: number }>("tasks", "Wait", {
            container_id: e.containerId,
            exec_id: e.id,
          });
          e.exitCode = r.exit_status;
          break;
        } catch (err) {
          // The container is gone (its exit ends its execs), or containerd restarts.
          if (err instanceof ContainerdCallError && err.code === 5) break;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      e.running = false;
      await containerd.call("tasks", "DeleteProcess", {
        container_id: e.containerId,
        exec_id: e.id,
      })
        .catch(() => {});
      const rec = this.engine.containers.find(e.containerId);
      if (rec) {
        this.engine.containers.save({ ...rec, ExecIDs: rec.ExecIDs.filter((x) => x !== e.id) });
        this.engine.events.publish({
          type: "container",
          action: "exec_die",
          id: rec.Id,
          attributes: {
            execID: e.id,
            exitCode: String(e.exitCode ?? 0),
            image: rec.Config.Image ?? "",
            name: rec.Name.slice(1),
          },
        });
      }
      e.markExited();
      // Kept a while for `docker exec`'s inspect of the exit code, then forgotten.
      Deno.unrefTimer(setTimeout(() => this.#execs.delete(e.id), 5 * 60_000));
    })();
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const e = this.get(id);
    // The CLI resizes as soon as its start request is answered: wait for the
    // process (dockerd waits up to 10 s too). One that ran and exited has
    // nothing left to resize.
    if (!e.running && e.exitCode === null) {
      await Promise.race([e.ran.promise, e.exited, sleep(10_000)]);
    }
    if (!e.running && e.exitCode !== null) return;
    if (!e.running) throw new ApiError(409, `exec ${id} is not running`);
    await this.engine.containerd.call("tasks", "ResizePty", {
      container_id: e.containerId,
      exec_id: id,
      width: w,
      height: h,
    }).catch((err) => {
      // Exited meanwhile: as above.
      if (e.running) throw err;
    });
  }
}

const sleep = (ms: number) => new Promise((r) => Deno.unrefTimer(setTimeout(r, ms)));

function execError(err: unknown): ApiError {
  const msg = (err as Error).message;
  return new ApiError(
    /not found|no such file/i.test(msg) ? 404 : 400,
    `OCI runtime exec failed: ${msg}: unknown`,
  );
}

/**
 * berth's containerd as a test subject: the daemon as a subprocess on a
 * temporary socket, root and state; a grpc-js client with the daemon's own
 * protos (calls take the namespace); event decoding; busybox containers
 * made through the Containers API.
 */
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
// A test-only dependency (proto-loader's own protobufjs), kept out of the import map.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@7.6.6";
import { MARKER_ENV, removeTree, templateRootfs, testSpec } from "./bundle.ts";
import { assertNoLeaks, forceCleanup, removeTestCgroupParents, testCgroupDirs } from "./leaks.ts";
import { REPO } from "./runtime.ts";
import type { Spec } from "../../runtime/spec/types.ts";

export const PROTO_DIR = `${REPO}/daemon/containerd/proto`;

export interface DaemonOptions {
  /** Containers per shim (the daemon's shim group size). */
  shimGroupSize?: number;
  /** Extra environment for the daemon. */
  env?: Record<string, string>;
}

export interface Daemon {
  dir: string;
  address: string;
  root: string;
  state: string;
  proc: Deno.ChildProcess;
  /** The daemon's stderr so far. */
  log(): string;
  /** SIGTERM (or another signal) and wait for the exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts the daemon again on the same socket, root and state. */
  restart(): Promise<void>;
}

async function waitForSocket(path: string, proc: Deno.ChildProcess, log: () => string) {
  let exited = false;
  proc.status.then(() => exited = true);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`containerd exited at start:\n${log()}`);
    try {
      const conn = await Deno.connect({ transport: "unix", path });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`containerd did not listen on ${path}:\n${log()}`);
}

/** Starts berth's containerd in a new temporary directory. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const dir = await Deno.makeTempDir({ prefix: "berth-ctrd-" });
  const d: Daemon = {
    dir,
    address: `${dir}/containerd.sock`,
    root: `${dir}/root`,
    state: `${dir}/state`,
    proc: undefined as unknown as Deno.ChildProcess,
    log: () => "",
    stop: async () => {},
    restart: async () => {},
  };
  const config = `${dir}/config.toml`;
  await Deno.writeTextFile(
    config,
    `version = 2\n[berth]\nshim_group_size = ${opts.shimGroupSize ?? 1}\n`,
  );
  const launch = async () => {
    const logFile = `${dir}/daemon.log`;
    d.proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${REPO}/main.ts`,
        "containerd",
        "--address",
        d.address,
        "--root",
        d.root,
        "--state",
        d.state,
        "--config",
        config,
        "--log-level",
        "debug",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...opts.env, [MARKER_ENV]: dir },
    }).spawn();
    // Both streams go to daemon.log (kept for failure messages).
    for (const stream of [d.proc.stdout, d.proc.stderr]) {
      (async () => {
        const f = await Deno.open(logFile, { append: true, create: true, write: true });
        try {
          for await (const chunk of stream) await f.write(chunk);
        } catch {
          /* closed */
        } finally {
          f.close();
        }
      })();
    }
    d.log = () => {
      try {
        return Deno.readTextFileSync(logFile);
      } catch {
        return "";
      }
    };
    await waitForSocket(d.address, d.proc, d.log);
  };
  d.stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      d.proc.kill(signal);
    } catch { /* already gone */ }
    await d.proc.status;
  };
  d.restart = async () => {
    await Deno.remove(d.address).catch(() => {});
    await launch();
  };
  await launch();
  return d;
}

// ------------------------------------------------------------------ client

const LOADER_OPTS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  includeDirs: [PROTO_DIR],
};

export interface GrpcError extends Error {
  code: number;
  details: string;
}

type Callable = (req: unknown, md: grpc.Metadata, cb: (e: Error | null, r: any) => void) => void;

/** A promise-returning stub: `await c.tasks("Create", ns, req)`. */
export type Rpc = (method: string, ns: string | undefined, req?: unknown) => Promise<any>;

export interface Client {
  tasks: Rpc;
  containers: Rpc;
  namespaces: Rpc;
  /** Server-streams events of a namespace (or all) into `onEvent` until `close()`. */
  subscribe(filters?: string[]): EventStream;
  close(): void;
}

export interface DecodedEvent {
  namespace: string;
  topic: string;
  type: string;
  event: Record<string, any>;
}

export interface EventStream {
  events: DecodedEvent[];
  /** Resolves with the first event (already received or future) matching `pred`. */
  next(pred: (e: DecodedEvent) => boolean, timeoutMs?: number): Promise<DecodedEvent>;
  close(): void;
}

function md(ns: string | undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  if (ns !== undefined) m.set("containerd-namespace", ns);
  return m;
}

let eventTypes: protobuf.Root | undefined;

/** Decodes an Envelope's event Any with the daemon's event protos. */
export function decodeEvent(any: { type_url: string; value: Uint8Array }): Record<string, any> {
  eventTypes ??= (() => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) =>
      target.startsWith("google/") || target.startsWith("/") ? target : `${PROTO_DIR}/${target}`;
    return root.loadSync(
      ["events/task.proto", "events/container.proto"].map((p) => `${PROTO_DIR}/${p}`),
      { keepCase: true },
    );
  })();
  const name = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
  const T = eventTypes.lookupType(name);
  return T.toObject(T.decode(any.value), { longs: Number, defaults: true });
}

export function connect(address: string): Client {
  const def = protoLoader.loadSync([
    "services/tasks/v1/tasks.proto",
    "services/containers/v1/containers.proto",
    "services/namespaces/v1/namespace.proto",
    "services/events/v1/events.proto",
  ], LOADER_OPTS);
  const pkg = grpc.loadPackageDefinition(def) as any;
  const target = `unix://${address}`;
  const creds = grpc.credentials.createInsecure();
  const svc = (ctor: any) => new ctor(target, creds);
  const stubs = {
    tasks: svc(pkg.containerd.services.tasks.v1.Tasks),
    containers: svc(pkg.containerd.services.containers.v1.Containers),
    namespaces: svc(pkg.containerd.services.namespaces.v1.Namespaces),
    events: svc(pkg.containerd.services.events.v1.Events),
  };
  const rpc = (stub: any): Rpc => (method, ns, req = {}) =>
    new Promise((resolve, reject) =>
      (stub[method] as Callable).call(stub, req, md(ns), (e, r) => e ? reject(e) : resolve(r))
    );
  return {
    tasks: rpc(stubs.tasks),
    containers: rpc(stubs.containers),
    namespaces: rpc(stubs.namespaces),
    subscribe(filters = []) {
      const events: DecodedEvent[] = [];
      const waiters: { pred: (e: DecodedEvent) => boolean; resolve: (e: DecodedEvent) => void }[] =
        [];
      const call = stubs.events.Subscribe({ filters }, md(undefined));
      call.on("data", (env: any) => {
        const e: DecodedEvent = {
          namespace: env.namespace,
          topic: env.topic,
          type: env.event?.type_url ?? "",
          event: env.event ? decodeEvent(env.event) : {},
        };
        events.push(e);
        for (const w of [...waiters]) {
          if (w.pred(e)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      });
      call.on("error", () => {});
      return {
        events,
        next(pred, timeoutMs = 15_000) {
          const found = events.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `no such event within ${timeoutMs} ms; got ${
                      JSON.stringify(events.map((e) => e.topic))
                    }`,
                  ),
                ),
              timeoutMs,
            );
            waiters.push({
              pred,
              resolve: (e) => {
                clearTimeout(timer);
                resolve(e);
              },
            });
          });
        },
        close: () => call.cancel(),
      };
    },
    close() {
      for (const s of Object.values(stubs)) s.close();
    },
  };
}

// -------------------------------------------------------------- containers

export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

export interface ContainerOptions {
  args: string[];
  terminal?: boolean;
  labels?: Record<string, string>;
  /** root.path: an absolute rootfs path (default: a fresh copy of the busybox template). */
  rootPath?: string;
  /** linux.cgroupsPath (default /berth-test/<ns>-<id>). */
  cgroupsPath?: string;
  mutate?: (spec: Spec) => void;
}

/** A busybox rootfs copied from the template into `dir` (for rootfs bind mounts or root.path). */
export async function copyRootfs(dir: string): Promise<string> {
  const tpl = await templateRootfs();
  const out = await new Deno.Command("cp", { args: ["-a", tpl, dir] }).output();
  if (!out.success) throw new Error(`cp -a ${tpl} ${dir} failed`);
  return dir;
}

/** The spec of a test container: berth's default, busybox root, test cgroup parent. */
export function containerSpec(ns: string, id: string, o: ContainerOptions, marker: string): Spec {
  const spec = testSpec({ args: o.args, terminal: o.terminal, cgroupsPath: null }, marker);
  spec.root = { path: o.rootPath ?? "rootfs", readonly: false };
  spec.linux!.cgroupsPath = o.cgroupsPath ?? `/berth-test/${ns}-${id}`;
  o.mutate?.(spec);
  return spec;
}

/** Creates a container through the Containers API. */
export async function createContainer(
  c: Client,
  ns: string,
  id: string,
  spec: Spec | Uint8Array,
  labels: Record<string, string> = {},
): Promise<void> {
  const value = spec instanceof Uint8Array ? spec : new TextEncoder().encode(JSON.stringify(spec));
  await c.containers("Create", ns, {
    container: {
      id,
      labels,
      image: "",
      runtime: { name: "io.containerd.runc.v2" },
      spec: { type_url: SPEC_TYPE_URL, value },
      snapshotter: "",
      snapshot_key: "",
    },
  });
}

/** A bind mount of `source` as the task's rootfs (CreateTaskRequest.rootfs). */
export function bindRootfs(source: string) {
  return [{ type: "bind", source, target: "", options: ["rbind", "rw"] }];
}

// ----------------------------------------------------------------- fixture

export interface DaemonCtx {
  d: Daemon;
  c: Client;
  /** Every event since the daemon started (all namespaces). */
  ev: EventStream;
  /** Makes a container record (busybox rootfs copy as root.path) and returns its rootfs. */
  container(
    ns: string,
    id: string,
    o: Omit<ContainerOptions, "rootPath"> & { bind?: boolean },
  ): Promise<string>;
  /** Cgroup directories to check for leaks (one per test container). */
  cgroupDirs: string[];
  /** Reconnects the client and the event stream (after a daemon restart). */
  reconnect(): Promise<void>;
}

/**
 * Runs `fn` against a fresh daemon; afterwards kills every task, stops the
 * daemon, asserts that no process (shim, container), mount or cgroup is left,
 * and removes everything, even when the test failed.
 */
export async function withDaemon(
  opts: DaemonOptions & { noLeakCheck?: boolean },
  fn: (t: DaemonCtx) => Promise<void>,
): Promise<void> {
  const d = await startDaemon(opts);
  const cgroupDirs: string[] = [];
  const containers: [string, string][] = [];
  const ctx: DaemonCtx = {
    d,
    c: connect(d.address),
    ev: undefined as unknown as EventStream,
    cgroupDirs,
    async container(ns, id, o) {
      const rootfs = await copyRootfs(`${d.dir}/rootfs-${ns}-${id}`);
      const spec = containerSpec(ns, id, { ...o, rootPath: o.bind ? "rootfs" : rootfs }, d.dir);
      await createContainer(ctx.c, ns, id, spec, o.labels);
      cgroupDirs.push(...testCgroupDirs(`${ns}-${id}`));
      containers.push([ns, id]);
      return rootfs;
    },
    async reconnect() {
      ctx.ev.close();
      ctx.c.close();
      ctx.c = connect(d.address);
      ctx.ev = ctx.c.subscribe();
      await new Promise((r) => setTimeout(r, 50));
    },
  };
  ctx.ev = ctx.c.subscribe();
  await new Promise((r) => setTimeout(r, 50)); // the subscription is in place
  let failed = true;
  let leak: unknown;
  try {
    await fn(ctx);
    failed = false;
  } finally {
    for (const [ns, id] of containers) {
      await ctx.c.tasks("Kill", ns, { container_id: id, signal: 9, all: true }).catch(() => {});
      await ctx.c.tasks("Wait", ns, { container_id: id }).catch(() => {});
      await ctx.c.tasks("Delete", ns, { container_id: id }).catch(() => {});
    }
    ctx.ev.close();
    ctx.c.close();
    await d.stop();
    const markers = [d.dir];
    if (!failed && !opts.noLeakCheck) {
      await assertNoLeaks(markers, cgroupDirs).catch((e) => leak = e);
    }
    await forceCleanup(markers, cgroupDirs);
    removeTestCgroupParents();
    if (failed || leak) console.error(`--- daemon log ---\n${d.log().slice(-8000)}`);
    await removeTree(d.dir);
  }
  if (leak) throw leak;
}

/** The gRPC code of a rejected call (asserting that it was rejected). */
export async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as GrpcError;
    return { code: err.code, details: err.details };
  }
  throw new Error("the call succeeded; an error was expected");
}

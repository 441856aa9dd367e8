/**
 * berth's containerd as a test subject for its API (no tasks): the daemon as
 * a subprocess on a temporary socket/root/state, a grpc-js client for every
 * service with the daemon's own protos, and event streams decoded with them.
 */
import grpc from "@grpc/grpc-js";
import { decodeAny, definitions } from "../../daemon/containerd/proto.ts";
import { removeTree } from "./bundle.ts";
import { REPO } from "./runtime.ts";

export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
export const Status = grpc.status;

export interface Daemon {
  dir: string;
  address: string;
  root: string;
  state: string;
  proc: Deno.ChildProcess;
  log(): string;
  /** Signals the daemon and waits for its exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Starts it again on the same socket, root and state. */
  restart(): Promise<void>;
  /** Stops it if running and removes its directory. */
  cleanup(): Promise<void>;
}

export interface DaemonOptions {
  /** TOML written to <dir>/config.toml and passed with --config. */
  config?: string;
  extraArgs?: string[];
}

/** Runs the containerd role to completion (flag tests). */
export async function runContainerd(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/main.ts`, "containerd", ...args],
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export function daemonArgs(
  d: { address: string; root: string; state: string },
  extra: string[] = [],
) {
  return [
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
    "--log-level",
    "debug",
    ...extra,
  ];
}

/** Resolves once something accepts connections on `path`; rejects if `proc` exits first. */
export async function waitForSocket(path: string, proc: Deno.ChildProcess, log: () => string) {
  let exited = false;
  proc.status.then(() => exited = true);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`containerd exited at start:\n${log()}`);
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`containerd did not listen on ${path}:\n${log()}`);
}

export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const dir = await Deno.makeTempDir({ prefix: "berth-ctrd-api-" });
  const extra = [...(opts.extraArgs ?? [])];
  if (opts.config !== undefined) {
    await Deno.writeTextFile(`${dir}/config.toml`, opts.config);
    extra.push("--config", `${dir}/config.toml`);
  }
  const logFile = `${dir}/daemon.log`;
  let running: Promise<void>[] = [];
  const d: Daemon = {
    dir,
    address: `${dir}/containerd.sock`,
    root: `${dir}/root`,
    state: `${dir}/state`,
    proc: undefined as unknown as Deno.ChildProcess,
    log: () => {
      try {
        return Deno.readTextFileSync(logFile);
      } catch {
        return "";
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        d.proc.kill(signal);
      } catch { /* gone */ }
      const st = await d.proc.status;
      await Promise.all(running);
      return st.code;
    },
    restart: () => launch(),
    async cleanup() {
      await d.stop("SIGKILL").catch(() => {});
      await removeTree(dir);
    },
  };
  const launch = async () => {
    d.proc = new Deno.Command(Deno.execPath(), {
      args: daemonArgs(d, extra),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    running = [d.proc.stdout, d.proc.stderr].map(async (stream) => {
      const f = await Deno.open(logFile, { append: true, create: true, write: true });
      try {
        for await (const chunk of stream) await f.write(chunk);
      } catch {
        /* closed */
      } finally {
        f.close();
      }
    });
    await waitForSocket(d.address, d.proc, d.log);
  };
  try {
    await launch();
  } catch (e) {
    await removeTree(dir);
    throw e;
  }
  return d;
}

// ------------------------------------------------------------------ client

export interface CallError extends Error {
  code: number;
  details: string;
}

const SERVICES = {
  version: "containerd.services.version.v1.Version",
  introspection: "containerd.services.introspection.v1.Introspection",
  namespaces: "containerd.services.namespaces.v1.Namespaces",
  containers: "containerd.services.containers.v1.Containers",
  events: "containerd.services.events.v1.Events",
  tasks: "containerd.services.tasks.v1.Tasks",
} as const;
export type ServiceName = keyof typeof SERVICES;

export interface DecodedEvent {
  namespace: string;
  topic: string;
  type: string;
  event: Record<string, any>;
  timestamp: { seconds: number; nanos: number };
}

export interface EventStream {
  events: DecodedEvent[];
  /** The stream's error, if it ended with one. */
  error?: CallError;
  /** The first event matching `pred` (already received or within `timeoutMs`). */
  next(pred: (e: DecodedEvent) => boolean, timeoutMs?: number): Promise<DecodedEvent>;
  /** Waits until the stream ended (with an error or not). */
  ended(): Promise<void>;
  close(): void;
}

export class Client {
  private readonly stubs: Record<ServiceName, grpc.Client>;

  constructor(readonly address: string) {
    const defs = definitions();
    const creds = grpc.credentials.createInsecure();
    this.stubs = Object.fromEntries(
      Object.entries(SERVICES).map(([k, name]) => {
        const Ctor = grpc.makeGenericClientConstructor(defs[name] as grpc.ServiceDefinition, name);
        return [k, new Ctor(`unix://${address}`, creds)];
      }),
    ) as unknown as Record<ServiceName, grpc.Client>;
  }

  /** A unary call; `ns` undefined sends no namespace header. */
  call(svc: ServiceName, method: string, ns: string | undefined, req: unknown = {}): Promise<any> {
    const stub = this.stubs[svc] as any;
    return new Promise((resolve, reject) =>
      stub[method](req, md(ns), (e: Error | null, r: unknown) => e ? reject(e) : resolve(r))
    );
  }

  /** A server-streaming call collected to the end. */
  stream(
    svc: ServiceName,
    method: string,
    ns: string | undefined,
    req: unknown = {},
  ): Promise<any[]> {
    const call = (this.stubs[svc] as any)[method](req, md(ns)) as grpc.ClientReadableStream<any>;
    const out: any[] = [];
    return new Promise((resolve, reject) => {
      call.on("data", (m) => out.push(m));
      call.on("error", reject);
      call.on("end", () => resolve(out));
    });
  }

  subscribe(filters: string[] = [], ns?: string): EventStream {
    const call = (this.stubs.events as any).Subscribe(
      { filters },
      md(ns),
    ) as grpc.ClientReadableStream<
      any
    >;
    const events: DecodedEvent[] = [];
    const waiters = new Set<(e: DecodedEvent) => void>();
    let endResolve!: () => void;
    const ended = new Promise<void>((r) => endResolve = r);
    const s: EventStream = {
      events,
      next(pred, timeoutMs = 5_000) {
        const found = events.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(w);
            reject(
              new Error(
                `no such event in ${timeoutMs} ms; got ${
                  JSON.stringify(events.map((e) => e.topic))
                }`,
              ),
            );
          }, timeoutMs);
          const w = (e: DecodedEvent) => {
            if (!pred(e)) return;
            clearTimeout(timer);
            waiters.delete(w);
            resolve(e);
          };
          waiters.add(w);
        });
      },
      ended: () => ended,
      close: () => call.cancel(),
    };
    call.on("data", (env) => {
      const e: DecodedEvent = {
        namespace: env.namespace,
        topic: env.topic,
        type: env.event?.type_url ?? "",
        event: (decodeAny(env.event) ?? {}) as Record<string, any>,
        timestamp: env.timestamp,
      };
      events.push(e);
      for (const w of [...waiters]) w(e);
    });
    call.on("error", (e) => {
      if ((e as CallError).code !== Status.CANCELLED) s.error = e as CallError;
      endResolve();
    });
    call.on("end", () => endResolve());
    return s;
  }

  close(): void {
    for (const s of Object.values(this.stubs)) s.close();
  }
}

function md(ns: string | undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  if (ns !== undefined) m.set("containerd-namespace", ns);
  return m;
}

/** The status of a call that must fail. */
export async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as CallError).code, details: (e as CallError).details };
  }
  throw new Error("the call succeeded; a failure was expected");
}

/** A container record for Containers.Create. */
export function containerReq(
  id: string,
  o: { labels?: Record<string, string>; image?: string; spec?: unknown } = {},
) {
  return {
    container: {
      id,
      labels: o.labels ?? {},
      image: o.image ?? "",
      runtime: { name: "io.containerd.runc.v2" },
      spec: {
        type_url: SPEC_TYPE_URL,
        value: new TextEncoder().encode(
          JSON.stringify(o.spec ?? { ociVersion: "1.0.2", process: { args: ["true"] } }),
        ),
      },
      snapshotter: "",
      snapshot_key: "",
    },
  };
}

/**
 * containerd.services.introspection.v1.Introspection: the daemon's identity
 * (a UUID made once and kept under --root) and the plugins berth serves, as
 * containerd would list them.
 */
import { type DaemonContext, invalidArgument } from "../context.ts";
import { objectAdaptor, parseFilters } from "../filters.ts";
import { writeFileAtomic } from "../metadata/atomic.ts";
import type { Handlers } from "../server.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface Plugin {
  type: string;
  id: string;
  requires: string[];
  platforms: Platform[];
  exports: Record<string, string>;
  capabilities: string[];
  init_err: null;
}

export interface ServerResponse {
  uuid: string;
  pid: number;
  pidns: number;
}

const GOARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

function plugin(type: string, id: string, requires: string[] = [], extra: Partial<Plugin> = {}) {
  return {
    type,
    id,
    requires,
    platforms: [],
    exports: {},
    capabilities: [],
    init_err: null,
    ...extra,
  } satisfies Plugin;
}

export function plugins(ctx: DaemonContext): Plugin[] {
  const platform = {
    os: "linux",
    architecture: GOARCH[Deno.build.arch] ?? Deno.build.arch,
    variant: "",
  };
  const grpc = "io.containerd.grpc.v1";
  const meta = "io.containerd.metadata.v1";
  return [
    plugin("io.containerd.event.v1", "exchange"),
    plugin(meta, "berth", [], { exports: { root: `${ctx.config.root}/metadata` } }),
    plugin("io.containerd.runtime.v2", "task", ["io.containerd.event.v1", meta], {
      platforms: [platform],
      exports: { root: ctx.config.state, state: ctx.config.state },
    }),
    plugin(grpc, "containers", [meta]),
    plugin(grpc, "events", ["io.containerd.event.v1"]),
    plugin(grpc, "introspection"),
    plugin(grpc, "namespaces", [meta]),
    plugin(grpc, "tasks", ["io.containerd.runtime.v2", meta]),
    plugin(grpc, "version"),
  ];
}

/** The daemon's UUID: made at first start, then read back. */
export function serverUuid(root: string): string {
  const path = `${root}/uuid`;
  try {
    const v = Deno.readTextFileSync(path).trim();
    if (/^[0-9a-f-]{36}$/.test(v)) return v;
  } catch { /* first start */ }
  const v = crypto.randomUUID();
  writeFileAtomic(path, `${v}\n`);
  return v;
}

function pidNamespace(): number {
  try {
    return Deno.statSync("/proc/self/ns/pid").ino ?? 0;
  } catch {
    return 0;
  }
}

export function introspectionService(ctx: DaemonContext): Handlers {
  const uuid = serverUuid(ctx.config.root);
  const list = plugins(ctx);
  return {
    Plugins: (_ns: string, req: { filters?: string[] }) => {
      let f;
      try {
        f = parseFilters(req.filters);
      } catch (e) {
        throw invalidArgument((e as Error).message);
      }
      return Promise.resolve({ plugins: list.filter((p) => f(objectAdaptor(p))) });
    },
    Server: (): Promise<ServerResponse> =>
      Promise.resolve({ uuid, pid: Deno.pid, pidns: pidNamespace() }),
  };
}

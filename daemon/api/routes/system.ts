/** System routes: /_ping, /version, /info. */
import type { App } from "../app.ts";
import type { Engine } from "../../engine.ts";
import { API_VERSION, MIN_API_VERSION } from "../version.ts";
import { cgroupVersion } from "../../../runtime/cgroups/mod.ts";
import type { SystemInfo, SystemVersion } from "../types.ts";

const PING_HEADERS = {
  "Cache-Control": "no-cache, no-store, must-revalidate",
  "Pragma": "no-cache",
  // "1": the classic builder; the CLI then uses POST /build rather than BuildKit.
  "Builder-Version": "1",
  "Swarm": "inactive",
};

export function systemRoutes(app: App): void {
  const ping = () =>
    new Response("OK", {
      headers: { ...PING_HEADERS, "Content-Type": "text/plain; charset=utf-8" },
    });
  app.get("/_ping", ping);
  // HEAD answers with the headers and no body (the CLI pings with HEAD first).
  app.on("HEAD", "/_ping", () =>
    new Response(null, {
      headers: {
        ...PING_HEADERS,
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": "0",
      },
    }));
  app.get("/version", async (c) => {
    const engine = c.get("engine");
    const v = versionInfo(engine);
    // containerd's own answer, as `docker version` shows it; absent if it does not answer.
    try {
      const cv = await engine.containerd.call<{ version: string; revision: string }>(
        "version",
        "Version",
        {},
      );
      v.Components[1] = {
        Name: "containerd",
        Version: cv.version,
        Details: { GitCommit: cv.revision },
      };
    } catch (e) {
      engine.log.warn(`containerd version: ${(e as Error).message}`);
      v.Components.splice(1, 1);
    }
    return c.json(v);
  });
  app.get("/info", (c) => c.json(systemInfo(c.get("engine"))));
}

const ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

function kernelVersion(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  } catch {
    return Deno.osRelease();
  }
}

function operatingSystem(): string {
  try {
    const text = Deno.readTextFileSync("/etc/os-release");
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    if (m) return m[1];
  } catch { /* fall through */ }
  return "Linux";
}

export function versionInfo(engine: Engine): SystemVersion {
  const common = {
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: "berth",
    GoVersion: `deno${Deno.version.deno}`,
    Os: "linux",
    Arch: ARCH[Deno.build.arch] ?? Deno.build.arch,
    KernelVersion: kernelVersion(),
    BuildTime: "",
  };
  return {
    Platform: { Name: "berth" },
    Components: [
      {
        Name: "Engine",
        Version: engine.version,
        Details: {
          ApiVersion: common.ApiVersion,
          MinAPIVersion: common.MinAPIVersion,
          GitCommit: common.GitCommit,
          GoVersion: common.GoVersion,
          Os: common.Os,
          Arch: common.Arch,
          KernelVersion: common.KernelVersion,
          Experimental: "false",
        },
      },
      { Name: "containerd", Version: engine.version, Details: { GitCommit: "berth" } },
      { Name: "runc", Version: engine.version, Details: { GitCommit: "berth" } },
    ],
    Version: engine.version,
    ...common,
  };
}

export function systemInfo(engine: Engine): SystemInfo {
  const n = engine.counts();
  const mem = Deno.systemMemoryInfo();
  const cg = cgroupVersion();
  return {
    ID: engine.id,
    Containers: n.containers,
    ContainersRunning: n.running,
    ContainersPaused: n.paused,
    ContainersStopped: n.stopped,
    Images: n.images,
    Driver: "overlay2",
    DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
    Plugins: {
      Volume: ["local"],
      Network: ["host", "null"],
      Authorization: null,
      Log: ["json-file"],
    },
    MemoryLimit: true,
    SwapLimit: cg === 2,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: engine.config.debug,
    NFd: countDir("/proc/self/fd"),
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: "json-file",
    CgroupDriver: "cgroupfs",
    CgroupVersion: String(cg),
    NEventsListener: engine.events.listeners,
    KernelVersion: kernelVersion(),
    OperatingSystem: operatingSystem(),
    OSVersion: "",
    OSType: "linux",
    Architecture: Deno.build.arch,
    IndexServerAddress: "https://index.docker.io/v1/",
    RegistryConfig: {
      IndexConfigs: {},
      InsecureRegistryCIDRs: ["127.0.0.0/8"],
      Mirrors: engine.config.registryMirrors,
    },
    NCPU: navigator.hardwareConcurrency,
    MemTotal: mem.total,
    DockerRootDir: engine.config.dataRoot,
    Name: Deno.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: engine.version,
    Runtimes: { runc: { path: "runc" } },
    DefaultRuntime: "runc",
    Swarm: { LocalNodeState: "inactive", ControlAvailable: false, NodeID: "", NodeAddr: "" },
    LiveRestoreEnabled: true,
    Isolation: "",
    InitBinary: "",
    ContainerdCommit: { ID: "berth", Expected: "berth" },
    RuncCommit: { ID: "berth", Expected: "berth" },
    InitCommit: { ID: "", Expected: "" },
    SecurityOptions: ["name=seccomp,profile=builtin"],
    Warnings: [],
  };
}

function countDir(path: string): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(path)) n++;
  } catch { /* not readable */ }
  return n;
}

/**
 * The engine behind the API: what routes ask about and act on. It grows with
 * each subsystem (containers, images, networks); routes see it through
 * `c.get("engine")`.
 */
import type { DaemonConfig } from "./config.ts";
import type { ContainerdClient } from "./containerd_client.ts";
import type { ContainerStore } from "./containers/store.ts";
import type { ImageService } from "./images/mod.ts";
import type { EventBus } from "./events.ts";
import type { ContainerService } from "./containers/service.ts";
import type { ExecService } from "./containers/exec.ts";

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface Counts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
}

export interface Engine {
  /** berth's version, reported as the Engine's. */
  version: string;
  /** A stable id for this daemon (kept under the data root). */
  id: string;
  config: DaemonConfig;
  log: Logger;
  /** containerd's API, in dockerd's namespace. */
  containerd: ContainerdClient;
  /** dockerd's container records. */
  containers: ContainerStore;
  /** Images: content store, snapshots, registry client. */
  images: ImageService;
  /** What `GET /events` streams. */
  events: EventBus;
  /** Container life cycle on containerd (start, stop, exits, restart policies). */
  lifecycle: ContainerService;
  /** `docker exec` instances. */
  execs: ExecService;
  counts(): Counts;
}

export const BERTH_VERSION = "0.1.0";

/** Leveled logging to stderr, as dockerd's logrus text format. */
export function stderrLogger(level: DaemonConfig["logLevel"]): Logger {
  const order = ["debug", "info", "warn", "error", "fatal"];
  const min = order.indexOf(level);
  const out = (lvl: string) => (msg: string) => {
    if (order.indexOf(lvl) < min) return;
    console.error(`time="${new Date().toISOString()}" level=${lvl} msg=${JSON.stringify(msg)}`);
  };
  return { debug: out("debug"), info: out("info"), warn: out("warn"), error: out("error") };
}

/** The daemon id: made once, then read back, so `docker info` shows the same ID across restarts. */
export function daemonId(dataRoot: string): string {
  const path = `${dataRoot}/engine-id`;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    const id = crypto.randomUUID();
    Deno.mkdirSync(dataRoot, { recursive: true, mode: 0o711 });
    const tmp = `${path}.tmp`;
    Deno.writeTextFileSync(tmp, id + "\n");
    Deno.renameSync(tmp, path);
    return id;
  }
}

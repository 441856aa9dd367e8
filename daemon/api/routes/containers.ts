/**
 * Container routes that work on dockerd's records: list, inspect, rename,
 * remove. Routes that need an image or a task (create, start, attach, ...)
 * join as the image store lands.
 */
import type { App } from "../app.ts";
import { badRequest, conflict } from "../errors.ts";
import type { ContainerInspect, ContainerSummary } from "../types.ts";
import type { ContainerRecord } from "../../containers/store.ts";

/** Docker's `filters` query parameter: {"key": ["v", ...]} or the older {"key": {"v": true}}. */
export function parseFilters(raw: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid filter: ${raw}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`invalid filter: ${raw}`);
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (typeof v === "object" && v !== null) out.set(k, Object.keys(v));
    else throw badRequest(`invalid filter: ${raw}`);
  }
  return out;
}

const FILTER_KEYS = new Set([
  "id",
  "name",
  "label",
  "status",
  "exited",
  "ancestor",
  "before",
  "since",
  "network",
]);

function matches(rec: ContainerRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case "id":
          return rec.Id.startsWith(v);
        case "name":
          return new RegExp(v).test(rec.Name.slice(1)) || new RegExp(v).test(rec.Name);
        case "label": {
          const [k, val] = v.split("=", 2);
          const labels = rec.Config.Labels ?? {};
          return val === undefined ? k in labels : labels[k] === val;
        }
        case "status":
          return rec.State.Status === v;
        case "exited":
          return rec.State.Status === "exited" && String(rec.State.ExitCode) === v;
        case "ancestor":
          return rec.Config.Image === v || rec.Image === v || rec.Image.startsWith(`sha256:${v}`);
        case "network":
          return v in rec.Networks;
        default:
          return true;
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** Docker's "Up 5 minutes" / "Exited (0) 2 seconds ago" / "Created". */
export function humanStatus(rec: ContainerRecord, now = Date.now()): string {
  const ago = (iso: string) => humanDuration(now - Date.parse(iso));
  switch (rec.State.Status) {
    case "running":
      return `Up ${ago(rec.State.StartedAt)}`;
    case "paused":
      return `Up ${ago(rec.State.StartedAt)} (Paused)`;
    case "exited":
      return `Exited (${rec.State.ExitCode}) ${ago(rec.State.FinishedAt)} ago`;
    case "restarting":
      return `Restarting (${rec.State.ExitCode}) ${ago(rec.State.FinishedAt)} ago`;
    case "dead":
      return "Dead";
    case "removing":
      return "Removal In Progress";
    default:
      return "Created";
  }
}

export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 14) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 60) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 730) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

function summary(rec: ContainerRecord): ContainerSummary {
  return {
    Id: rec.Id,
    Names: [rec.Name],
    Image: rec.Config.Image ?? "",
    ImageID: rec.Image,
    Command: [rec.Path, ...rec.Args].join(" "),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: [],
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: humanStatus(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode ?? "default" },
    NetworkSettings: { Networks: rec.Networks },
    Mounts: [],
  };
}

function inspect(rec: ContainerRecord, dataRoot: string): ContainerInspect {
  const dir = `${dataRoot}/containers/${rec.Id}`;
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: rec.State,
    Image: rec.Image,
    ResolvConfPath: `${dir}/resolv.conf`,
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    LogPath: rec.LogPath,
    Name: rec.Name,
    RestartCount: rec.RestartCount,
    Driver: "overlay2",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: rec.ExecIDs.length ? rec.ExecIDs : null,
    HostConfig: rec.HostConfig,
    GraphDriver: { Name: "overlay2", Data: null },
    Mounts: [],
    Config: rec.Config,
    NetworkSettings: {
      Bridge: "",
      SandboxID: "",
      SandboxKey: "",
      Ports: {},
      Networks: rec.Networks,
    },
  };
}

export function containerRoutes(app: App): void {
  app.get("/containers/json", (c) => {
    const engine = c.get("engine");
    const all = ["1", "true"].includes(c.req.query("all") ?? "");
    const limit = Number(c.req.query("limit") ?? -1);
    const filters = parseFilters(c.req.query("filters"));
    for (const key of filters.keys()) {
      if (!FILTER_KEYS.has(key)) throw badRequest(`invalid filter '${key}'`);
    }
    let list = engine.containers.all()
      .filter((r) => all || limit > 0 || r.State.Running || filters.has("status"))
      .filter((r) => matches(r, filters))
      .sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    if (limit > 0) list = list.slice(0, limit);
    return c.json(list.map(summary));
  });

  app.get("/containers/:id/json", (c) => {
    const engine = c.get("engine");
    return c.json(inspect(engine.containers.get(c.req.param("id")), engine.config.dataRoot));
  });

  app.post("/containers/:id/rename", (c) => {
    const engine = c.get("engine");
    const rec = engine.containers.get(c.req.param("id"));
    const name = c.req.query("name");
    if (!name) throw badRequest("name is required to rename a container");
    const newName = engine.containers.reserveName(name, rec.Id);
    if (newName === rec.Name) {
      throw conflict(`Renaming a container with the same name as its current name`);
    }
    engine.containers.save({ ...rec, Name: newName });
    return c.body(null, 204);
  });

  app.delete("/containers/:id", (c) => {
    const engine = c.get("engine");
    const rec = engine.containers.get(c.req.param("id"));
    const force = ["1", "true"].includes(c.req.query("force") ?? "");
    if ((rec.State.Running || rec.State.Paused) && !force) {
      throw conflict(
        `You cannot remove a ${rec.State.Paused ? "paused" : "running"} container ${rec.Id}. ` +
          `Stop the container before attempting removal or force remove`,
      );
    }
    engine.containers.remove(rec.Id);
    return c.body(null, 204);
  });
}

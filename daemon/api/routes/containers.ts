/**
 * Container routes: list, inspect, create, start, stop, restart, kill,
 * pause, unpause, wait, rename, remove, resize, top. The life cycle itself
 * is daemon/containers/service.ts.
 */
import { mountPoints } from "../../containers/mounts.ts";
import type { Context } from "hono";
import type { App, Env } from "../app.ts";
import { badRequest, conflict } from "../errors.ts";
import { boolValue } from "../query.ts";
import type { WaitCondition } from "../../containers/service.ts";
import { topOf } from "../../containers/top.ts";
import type { ContainerInspect, ContainerSummary } from "../types.ts";
import type { ContainerRecord } from "../../containers/store.ts";
import { containerSize, sizeFields } from "../../containers/size.ts";
import { containerEvent } from "../../events.ts";

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

export function summary(rec: ContainerRecord): ContainerSummary {
  return {
    Id: rec.Id,
    Names: [rec.Name],
    Image: rec.Config.Image ?? "",
    ImageID: rec.Image,
    // dockerd quotes arguments that hold a space (and nothing else).
    Command: [rec.Path, ...rec.Args.map((a) => a.includes(" ") ? `'${a}'` : a)].join(" "),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: [],
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: humanStatus(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode ?? "default" },
    NetworkSettings: { Networks: rec.Networks },
    Mounts: mountPoints(rec.HostConfig),
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
    Mounts: mountPoints(rec.HostConfig),
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
  app.get("/containers/json", async (c) => {
    const engine = c.get("engine");
    const all = boolValue(c.req.query("all"));
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
    if (!boolValue(c.req.query("size"))) return c.json(list.map(summary));
    return c.json(
      await Promise.all(list.map(async (r) => ({
        ...summary(r),
        ...sizeFields(await containerSize(engine, r)),
      }))),
    );
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
    engine.events.publish(
      containerEvent({ ...rec, Name: newName }, "rename", { oldName: rec.Name }),
    );
    return c.body(null, 204);
  });

  app.post("/containers/create", async (c) => {
    const engine = c.get("engine");
    const body = await jsonBody(c);
    const name = c.req.query("name") || undefined;
    return c.json(await engine.lifecycle.create(body, name), 201);
  });

  app.post("/containers/:id/start", async (c) => {
    const r = await c.get("engine").lifecycle.start(c.req.param("id"));
    return c.body(null, r === "already" ? 304 : 204);
  });

  app.post("/containers/:id/stop", async (c) => {
    const r = await c.get("engine").lifecycle.stop(c.req.param("id"), stopOptions(c));
    return c.body(null, r === "already" ? 304 : 204);
  });

  app.post("/containers/:id/restart", async (c) => {
    await c.get("engine").lifecycle.restart(c.req.param("id"), stopOptions(c));
    return c.body(null, 204);
  });

  app.post("/containers/:id/kill", async (c) => {
    await c.get("engine").lifecycle.kill(c.req.param("id"), c.req.query("signal") || undefined);
    return c.body(null, 204);
  });

  app.post("/containers/:id/pause", async (c) => {
    await c.get("engine").lifecycle.pause(c.req.param("id"));
    return c.body(null, 204);
  });

  app.post("/containers/:id/unpause", async (c) => {
    await c.get("engine").lifecycle.unpause(c.req.param("id"));
    return c.body(null, 204);
  });

  app.post("/containers/:id/wait", (c) => {
    const condition = (c.req.query("condition") || "not-running") as WaitCondition;
    if (!["not-running", "next-exit", "removed"].includes(condition)) {
      throw badRequest(`invalid condition: "${condition}"`);
    }
    const waiting = c.get("engine").lifecycle.wait(c.req.param("id"), condition);
    // Headers go out at once (the CLI waits for them before it starts the container);
    // the body follows at the exit.
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        const status = await waiting;
        ctl.enqueue(new TextEncoder().encode(JSON.stringify(status) + "\n"));
        ctl.close();
      },
    });
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  app.post("/containers/:id/resize", async (c) => {
    const engine = c.get("engine");
    const rec = engine.containers.get(c.req.param("id"));
    const h = Number(c.req.query("h") ?? 0), w = Number(c.req.query("w") ?? 0);
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
      throw badRequest(`invalid resize parameters: h=${c.req.query("h")} w=${c.req.query("w")}`);
    }
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    await engine.containerd.call("tasks", "ResizePty", {
      container_id: rec.Id,
      width: w,
      height: h,
    });
    return c.body(null, 200);
  });

  app.get("/containers/:id/top", async (c) => {
    const engine = c.get("engine");
    const rec = engine.containers.get(c.req.param("id"));
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`);
    return c.json(await topOf(engine, rec.Id, c.req.query("ps_args") ?? ""));
  });

  app.delete("/containers/:id", async (c) => {
    const engine = c.get("engine");
    const force = boolValue(c.req.query("force"));
    await engine.lifecycle.remove(c.req.param("id"), { force });
    return c.body(null, 204);
  });
}

/** `t` (seconds, -1 = no limit) and `signal` of stop and restart. */
function stopOptions(c: Context<Env>): { timeout?: number; signal?: string } {
  const t = c.req.query("t") ?? c.req.query("timeout");
  if (t !== undefined && t !== "" && !/^-?\d+$/.test(t)) {
    throw badRequest(`invalid value for t: ${t}`);
  }
  return {
    timeout: t === undefined || t === "" ? undefined : Number(t),
    signal: c.req.query("signal") || undefined,
  };
}

/** A JSON body; malformed JSON is the client's error (400), as in dockerd. */
export async function jsonBody(c: Context<Env>): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`invalid JSON: ${(e as Error).message}`);
  }
}

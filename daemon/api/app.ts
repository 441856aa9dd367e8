/**
 * The Engine API as a Hono app. Requests arrive from node:http (see
 * server/listen.ts); the `/v1.NN` prefix is split off before routing, so
 * routes are written once and see the negotiated version in
 * `c.get("apiVersion")`.
 */
import { Hono } from "hono";
import { ApiError, errorResponse } from "./errors.ts";
import { API_VERSION, splitVersion } from "./version.ts";
import type { Engine } from "../engine.ts";
import { systemRoutes } from "./routes/system.ts";
import { ImageError, statusOf } from "../images/errors.ts";
import { containerRoutes } from "./routes/containers.ts";
import { logsRoutes } from "./routes/logs.ts";
import { archiveRoutes } from "./routes/archive.ts";
import { imageRoutes } from "./routes/images.ts";
import { authRoutes } from "./routes/auth.ts";
import { execRoutes } from "./routes/exec.ts";
import { eventRoutes } from "./routes/events.ts";
import { diskUsageRoutes } from "./routes/disk_usage.ts";
import { pruneRoutes } from "./routes/prune.ts";
import { statsRoutes } from "./routes/stats.ts";
import { updateRoutes } from "./routes/update.ts";
import { attachRoutes } from "./routes/attach.ts";

export type Env = { Variables: { apiVersion: string; engine: Engine } };
export type App = Hono<Env>;

/** Headers dockerd puts on every answer; clients read the OS type and version from them. */
export function commonHeaders(engine: Engine): Record<string, string> {
  return {
    "Api-Version": API_VERSION,
    "Docker-Experimental": "false",
    "Ostype": "linux",
    "Server": `Docker/${engine.version} (linux)`,
  };
}

const VERSION_HEADER = "x-berth-api-version";

export function createApi(engine: Engine): (req: Request) => Promise<Response> {
  const app: App = new Hono<Env>();
  const headers = commonHeaders(engine);

  app.onError((err, _c) => {
    if (err instanceof ApiError) return errorResponse(err.status, err.message);
    if (err instanceof ImageError) return errorResponse(statusOf(err.kind), err.message);
    // Malformed JSON bodies are the client's fault, as in dockerd.
    if (err instanceof SyntaxError) return errorResponse(400, err.message);
    engine.log.error(`API: ${err.stack ?? err}`);
    return errorResponse(500, (err as Error).message);
  });
  app.notFound(() => errorResponse(404, "page not found"));
  app.use(async (c, next) => {
    c.set("apiVersion", c.req.header(VERSION_HEADER) ?? API_VERSION);
    c.set("engine", engine);
    await next();
  });
  systemRoutes(app);
  containerRoutes(app);
  logsRoutes(app);
  archiveRoutes(app);
  imageRoutes(app);
  authRoutes(app);
  execRoutes(app);
  eventRoutes(app);
  diskUsageRoutes(app);
  pruneRoutes(app);
  statsRoutes(app);
  updateRoutes(app);
  attachRoutes(app);

  return async (req: Request) => {
    const url = new URL(req.url);
    let res: Response;
    try {
      const { version, path } = splitVersion(url.pathname);
      url.pathname = path;
      // A fresh Request: node-server's own Request class cannot be cloned with a new URL.
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const forwarded = new Request(url, {
        method: req.method,
        headers: req.headers,
        body: hasBody ? req.body : null,
        signal: req.signal,
        // deno-lint-ignore no-explicit-any
        ...(hasBody ? { duplex: "half" } as any : {}),
      });
      forwarded.headers.set(VERSION_HEADER, version);
      res = await app.fetch(forwarded);
    } catch (e) {
      res = e instanceof ApiError
        ? errorResponse(e.status, e.message)
        : errorResponse(500, (e as Error).message);
    }
    for (const [k, v] of Object.entries(headers)) {
      if (!res.headers.has(k)) res.headers.set(k, v);
    }
    return res;
  };
}

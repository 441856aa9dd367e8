/**
 * `docker cp` and `docker export`: HEAD/GET/PUT `/containers/{id}/archive`
 * and GET `/containers/{id}/export` (the work is in containers/archive.ts).
 */
import type { App } from "../app.ts";
import { badRequest } from "../errors.ts";
import { boolValue } from "./logs.ts";
import {
  archivePath,
  exportContainer,
  extractToDir,
  pathStatHeader,
  statPath,
} from "../../containers/archive.ts";

const STAT_HEADER = "X-Docker-Container-Path-Stat";

/** httputils.ArchiveFormValues; Docker's message really lacks the space. */
function archivePathParam(path: string | undefined): string {
  if (!path) throw badRequest("bad parameter: pathcannot be empty");
  return path;
}

export function archiveRoutes(app: App): void {
  // Hono answers HEAD with the GET route (body dropped): only the stat is made for it.
  app.get("/containers/:id/archive", (c) => {
    const engine = c.get("engine");
    const path = archivePathParam(c.req.query("path"));
    const ref = c.req.param("id");
    if (c.req.raw.method === "HEAD") {
      const stat = statPath(engine, ref, path);
      return new Response(null, { status: 200, headers: { [STAT_HEADER]: pathStatHeader(stat) } });
    }
    const { stat, body } = archivePath(engine, ref, path);
    return new Response(body, {
      status: 200,
      headers: { [STAT_HEADER]: pathStatHeader(stat), "Content-Type": "application/x-tar" },
    });
  });

  app.put("/containers/:id/archive", async (c) => {
    const engine = c.get("engine");
    const path = archivePathParam(c.req.query("path"));
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
    await extractToDir(engine, c.req.param("id"), path, {
      noOverwriteDirNonDir: boolValue(c.req.query("noOverwriteDirNonDir")),
      copyUIDGID: boolValue(c.req.query("copyUIDGID")),
    }, body);
    return c.body(null, 200);
  });

  app.get("/containers/:id/export", (c) => {
    const body = exportContainer(c.get("engine"), c.req.param("id"));
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": "application/octet-stream" },
    });
  });
}

/** `GET /system/df`: disk usage by object type (daemon/disk_usage.ts). */
import type { App } from "../app.ts";
import { badRequest } from "../errors.ts";
import { compareVersions } from "../version.ts";
import { diskUsage, type DiskUsageObject } from "../../disk_usage.ts";
import { summary } from "./containers.ts";

const OBJECTS: DiskUsageObject[] = ["container", "image", "volume", "build-cache"];

export function diskUsageRoutes(app: App): void {
  app.get("/system/df", async (c) => {
    // `type` (API 1.42) picks the lists; without it, or before 1.42, all of them.
    const types = c.req.queries("type") ?? [];
    const want = new Set<DiskUsageObject>();
    if (!types.length || compareVersions(c.get("apiVersion"), "1.42") < 0) {
      OBJECTS.forEach((o) => want.add(o));
    } else {
      for (const t of types) {
        if (!OBJECTS.includes(t as DiskUsageObject)) throw badRequest(`unknown object type: ${t}`);
        want.add(t as DiskUsageObject);
      }
    }
    return c.json(await diskUsage(c.get("engine"), want, summary));
  });
}

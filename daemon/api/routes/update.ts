/** `POST /containers/{id}/update`: new limits and restart policy (containers/update.ts). */
import type { App } from "../app.ts";
import { jsonBody } from "./containers.ts";
import { updateContainer } from "../../containers/update.ts";

export function updateRoutes(app: App): void {
  app.post("/containers/:id/update", async (c) => {
    const engine = c.get("engine");
    const body = await jsonBody(c);
    return c.json(await updateContainer(engine, c.req.param("id"), body, c.get("apiVersion")));
  });
}

/**
 * Exec routes: create, inspect, resize, and start for clients that do not
 * ask to hijack the connection (detached starts, or output streamed as the
 * response body). Hijacked starts are in ../hijack_routes.ts.
 */
import type { App } from "../app.ts";
import { badRequest } from "../errors.ts";
import { jsonBody } from "./containers.ts";
import { attachSocketOf } from "../hijack_routes.ts";
import { connectAttach } from "../../attach/hijack.ts";

export function execRoutes(app: App): void {
  app.post("/containers/:id/exec", async (c) => {
    const engine = c.get("engine");
    return c.json(engine.execs.create(c.req.param("id"), await jsonBody(c)), 201);
  });

  app.get("/exec/:id/json", (c) => c.json(c.get("engine").execs.inspect(c.req.param("id"))));

  app.post("/exec/:id/resize", async (c) => {
    const h = Number(c.req.query("h") ?? 0), w = Number(c.req.query("w") ?? 0);
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
      throw badRequest(`invalid resize parameters: h=${c.req.query("h")} w=${c.req.query("w")}`);
    }
    await c.get("engine").execs.resize(c.req.param("id"), h, w);
    return c.body(null, 200);
  });

  app.post("/exec/:id/start", async (c) => {
    const engine = c.get("engine");
    const id = c.req.param("id");
    const body = await jsonBody(c) as { Detach?: boolean; Tty?: boolean };
    const exec = engine.execs.get(id);
    const tty = body.Tty ?? !!exec.config.Tty;
    if (body.Detach) {
      await engine.execs.start(id, { tty });
      return c.body(null, 200);
    }
    // Output as the response body (no stdin without a hijack).
    await engine.execs.prepare(id, { tty });
    const conn = await connectAttach(attachSocketOf(engine, exec.containerId), {
      execId: id,
      stdout: !!exec.config.AttachStdout,
      stderr: !!exec.config.AttachStderr,
    });
    try {
      await engine.execs.run(id);
    } catch (e) {
      conn.close();
      throw e;
    }
    // The body ends once the exit is known: clients inspect the exec next.
    const output = conn.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async flush() {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([exec.exited, new Promise((r) => timer = setTimeout(r, 5000))]);
          clearTimeout(timer);
        },
      }),
    );
    return c.body(output, 200, {
      "Content-Type": tty
        ? "application/vnd.docker.raw-stream"
        : "application/vnd.docker.multiplexed-stream",
    });
  });
}

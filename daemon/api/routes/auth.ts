/**
 * POST /auth (`docker login`): checks the credentials against the registry
 * and answers `{"Status":"Login Succeeded","IdentityToken":""}`; a refusal
 * is a 401 with dockerd's "login attempt to … failed with status: …".
 */
import type { App } from "../app.ts";
import { ApiError, badRequest } from "../errors.ts";
import { type AuthConfig, ImageError, login, statusOf } from "../../images/mod.ts";

export function authRoutes(app: App): void {
  app.post("/auth", async (c) => {
    const engine = c.get("engine");
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (e) {
      throw badRequest(`invalid JSON: ${(e as Error).message}`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest("invalid JSON: the body is not an object");
    }
    try {
      return c.json(
        await login(body as AuthConfig, {
          registryMirrors: engine.config.registryMirrors,
          insecureRegistries: engine.config.insecureRegistries,
        }),
      );
    } catch (e) {
      if (e instanceof ImageError) throw new ApiError(statusOf(e.kind), e.message);
      throw e;
    }
  });
}

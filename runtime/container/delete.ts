/** `delete`: removes a stopped container (or, forced, kills it first). */
import type { RuntimeContext } from "../context.ts";
import { type Container, killEverything, openContainer } from "./container.ts";
import { runHooks } from "./hooks.ts";
import { containerDir, NotFound, ociState } from "./state.ts";

export async function deleteContainer(
  ctx: RuntimeContext,
  id: string,
  force: boolean,
): Promise<void> {
  let c: Container;
  try {
    c = openContainer(ctx, id);
  } catch (e) {
    if (e instanceof NotFound) {
      // A create that died half-way may leave a directory without state.json.
      try {
        Deno.removeSync(containerDir(ctx.root, id), { recursive: true });
      } catch { /* nothing there */ }
      if (force) return;
    }
    throw e;
  }
  const status = c.status();
  if (status !== "stopped" && status !== "created" && !force) {
    throw new Error(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== "stopped") await killEverything(c);
  await destroyContainer(ctx, c);
}

/** Releases everything a stopped container holds, then runs poststop hooks. */
export async function destroyContainer(ctx: RuntimeContext, c: Container): Promise<void> {
  const cgroup = await c.cgroup();
  if (cgroup.pids().length) await killEverything(c);
  await cgroup.destroy();
  try {
    await runHooks("poststop", c.rec.config.hooks?.poststop, ociState(c.rec, "stopped"));
  } catch (e) {
    ctx.log.warn((e as Error).message);
  }
  Deno.removeSync(containerDir(ctx.root, c.rec.id), { recursive: true });
}

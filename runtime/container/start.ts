/** `start`: tells a created container's init to execute the user's process. */
import type { RuntimeContext } from "../context.ts";
import { Channel } from "./channel.ts";
import { killEverything, openContainer } from "./container.ts";
import { runHooks } from "./hooks.ts";
import { ociState, startSocketPath } from "./state.ts";
import { connectUnixSocket } from "../linux/unix_socket.ts";

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const c = openContainer(ctx, id);
  const status = c.status();
  if (status === "stopped") throw new Error("cannot start a container that has stopped");
  if (status !== "created") throw new Error(`cannot start an already ${status} container`);
  const path = startSocketPath(ctx.root, id);
  const chan = new Channel(await connectUnixSocket(path));
  try {
    await chan.send({ type: "start", state: ociState(c.rec, "created") });
    await chan.expect("started");
  } finally {
    chan.close();
    // From here on the container is running (or failed to): never "created" again.
    try {
      Deno.removeSync(path);
    } catch { /* gone */ }
  }
  try {
    await runHooks("poststart", c.rec.config.hooks?.poststart, ociState(c.rec, "running"));
  } catch (e) {
    // As runc does (stricter than the spec's "log a warning"): a container whose poststart
    // hook failed is not left running unannounced; it is killed and start fails.
    await killEverything(c);
    throw e;
  }
}

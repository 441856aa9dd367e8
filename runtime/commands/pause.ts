import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { oneId } from "./common.ts";

/** `pause`: freezes every process of a running container (cgroup freezer). */
const pause: Command = async (ctx, args) => {
  const { positionals } = parseFlags(args, {});
  const c = openContainer(ctx, oneId(positionals, "pause"));
  const status = c.status();
  if (status !== "running") throw new Error(`container not running (status: ${status})`);
  await (await c.cgroup()).freeze();
  return 0;
};
export default pause;

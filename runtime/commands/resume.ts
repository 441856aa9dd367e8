import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { oneId } from "./common.ts";

/** `resume`: thaws a paused container. */
const resume: Command = async (ctx, args) => {
  const { positionals } = parseFlags(args, {});
  const c = openContainer(ctx, oneId(positionals, "resume"));
  const status = c.status();
  if (status !== "paused") throw new Error(`container not paused (status: ${status})`);
  await (await c.cgroup()).thaw();
  return 0;
};
export default resume;

import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { startContainer } from "../container/start.ts";
import { oneId } from "./common.ts";

const start: Command = async (ctx, args) => {
  const { positionals } = parseFlags(args, {});
  await startContainer(ctx, oneId(positionals, "start"));
  return 0;
};
export default start;

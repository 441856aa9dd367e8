import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { deleteContainer } from "../container/delete.ts";
import { oneId } from "./common.ts";

const del: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, { force: { type: "boolean", short: "f" } });
  await deleteContainer(ctx, oneId(positionals, "delete"), flags.force ?? false);
  return 0;
};
export default del;

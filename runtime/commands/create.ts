import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { CREATE_FLAGS, oneId, preserveFds } from "./common.ts";
import { createContainer } from "../container/create.ts";

const create: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, CREATE_FLAGS);
  const id = oneId(positionals, "create");
  await createContainer(ctx, {
    id,
    bundle: flags.bundle ?? Deno.cwd(),
    consoleSocket: flags["console-socket"],
    pidFile: flags["pid-file"],
    noPivot: flags["no-pivot"],
    preserveFds: preserveFds(flags["preserve-fds"]),
  });
  return 0;
};
export default create;

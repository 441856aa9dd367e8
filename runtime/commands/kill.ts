import type { Command } from "../context.ts";
import { parseFlags, UsageError } from "../args.ts";
import { killContainer } from "../container/container.ts";
import { parseSignal } from "../linux/signals.ts";

/** `kill ID [SIGNAL]`: SIGTERM by default; --all signals every process. */
const kill: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, { all: { type: "boolean", short: "a" } });
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(
      `"kill" requires 1 or 2 arguments (ID [SIGNAL]), got ${positionals.length}`,
    );
  }
  const signal = parseSignal(positionals[1] ?? "SIGTERM");
  await killContainer(ctx, positionals[0], signal, flags.all ?? false);
  return 0;
};
export default kill;

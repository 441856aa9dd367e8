/** `docker image prune`: POST /images/prune (dangling only unless -a). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { filtersJson } from "../opts.ts";
import { confirm, FORCE, printDeleted, printReclaimed, PRUNE_FILTER } from "../prune.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Remove unused images",
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Remove all unused images, not just dangling ones",
    },
    PRUNE_FILTER,
    FORCE,
  ],
  args: { exact: 0 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const warning = v.all
    ? "WARNING! This will remove all images without at least one container associated to them."
    : "WARNING! This will remove all dangling images.";
  if (!v.force && !await confirm(cli, warning)) return 0;
  const r = await cli.client.json("POST", "/images/prune", {
    query: {
      filters: filtersJson([`dangling=${v.all ? "false" : "true"}`, ...v.filter as string[]]),
    },
  });
  printReclaimed(cli, printDeleted(cli, r as never));
  return 0;
}

/** `docker container prune`: POST /containers/prune after confirmation. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { filtersJson } from "../opts.ts";
import { confirm, FORCE, printDeleted, printReclaimed, PRUNE_FILTER } from "../prune.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Remove all stopped containers",
  flags: [PRUNE_FILTER, FORCE],
  args: { exact: 0 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const filters = opts.values.filter as string[];
  if (
    !opts.values.force && !await confirm(cli, "WARNING! This will remove all stopped containers.")
  ) {
    return 0;
  }
  const r = await cli.client.json("POST", "/containers/prune", {
    query: { filters: filtersJson(filters) },
  });
  printReclaimed(cli, printDeleted(cli, r as never));
  return 0;
}

/**
 * `docker system prune`: stopped containers, unused networks, (anonymous
 * volumes,) dangling or unused images and build cache, after confirmation.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { filtersJson } from "../opts.ts";
import { confirm, FORCE, printDeleted, printReclaimed, type PruneReport } from "../prune.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Remove unused data",
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Remove all unused images not just dangling ones",
    },
    {
      name: "filter",
      type: "list",
      varname: "filter",
      usage: 'Provide filter values (e.g. "label=<key>=<value>")',
    },
    FORCE,
    { name: "volumes", type: "bool", usage: "Prune anonymous volumes" },
  ],
  args: { exact: 0 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const filters = v.filter as string[];
  if (!v.force) {
    const items = [
      "all stopped containers",
      "all networks not used by at least one container",
      ...(v.volumes ? ["all anonymous volumes not used by at least one container"] : []),
      v.all
        ? "all images without at least one container associated to them"
        : "all dangling images",
      v.all ? "all build cache" : "unused build cache",
    ];
    let warning = "WARNING! This will remove:\n" + items.map((i) => `  - ${i}\n`).join("");
    if (filters.length) {
      warning += "\n  Items to be pruned will be filtered with:\n" +
        filters.map((f) => `  - ${f}\n`).join("");
    }
    if (!await confirm(cli, warning)) return 0;
  }
  const client = cli.client;
  const f = filtersJson(filters);
  let reclaimed = 0;
  const step = async (path: string, query: Record<string, string | undefined>) => {
    const r = await client.json<PruneReport>("POST", path, { query });
    reclaimed += printDeleted(cli, r ?? {});
  };
  await step("/containers/prune", { filters: f });
  await step("/networks/prune", { filters: f });
  if (v.volumes) await step("/volumes/prune", { filters: f });
  await step("/images/prune", {
    filters: filtersJson([`dangling=${v.all ? "false" : "true"}`, ...filters]),
  });
  await step("/build/prune", { all: v.all ? "1" : undefined, filters: f ?? "" });
  printReclaimed(cli, reclaimed);
  return 0;
}

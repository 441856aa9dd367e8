/** `docker rmi`: DELETE /images/{name}, each Untagged / Deleted line printed. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Remove one or more images",
  aliases: ["docker image rm", "docker image remove", "docker rmi"],
  flags: [
    { name: "force", short: "f", type: "bool", usage: "Force removal of the image" },
    { name: "no-prune", type: "bool", usage: "Do not delete untagged parents" },
    {
      minApi: "1.50",
      name: "platform",
      type: "list",
      varname: "strings",
      usage:
        'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
    },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  return await forEach(cli, opts.args, async (name) => {
    const items = await cli.client.json<{ Untagged?: string; Deleted?: string }[]>(
      "DELETE",
      `/images/${encodeURIComponent(name)}`,
      { query: { force: v.force ? "1" : undefined, noprune: v["no-prune"] ? "1" : undefined } },
    );
    for (const i of items ?? []) {
      if (i.Deleted) cli.out(`Deleted: ${i.Deleted}\n`);
      else if (i.Untagged) cli.out(`Untagged: ${i.Untagged}\n`);
    }
  }, { print: false });
}

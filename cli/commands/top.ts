/** `docker top`: GET /containers/{id}/top, columns by tabwriter(20, 1, 3). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { tabwrite } from "../table.ts";

export const spec: CommandSpec = {
  use: "CONTAINER [ps OPTIONS]",
  short: "Display the running processes of a container",
  aliases: ["docker container top", "docker top"],
  flags: [],
  args: { min: 1 },
  interspersed: false,
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const [name, ...psArgs] = opts.args;
  const top = await cli.client.json<{ Titles: string[]; Processes: string[][] | null }>(
    "GET",
    `/containers/${encodeURIComponent(name)}/top`,
    { query: { ps_args: psArgs.length ? psArgs.join(" ") : undefined } },
  );
  let text = top.Titles.join("\t") + "\n";
  for (const p of top.Processes ?? []) text += p.join("\t") + "\n";
  cli.out(tabwrite(text, { minwidth: 20, padding: 3 }));
  return 0;
}

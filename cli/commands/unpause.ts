/** `docker unpause`: POST /containers/{id}/unpause. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";

export const spec: CommandSpec = {
  use: "CONTAINER [CONTAINER...]",
  short: "Unpause all processes within one or more containers",
  aliases: ["docker container unpause", "docker unpause"],
  flags: [],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  return await forEach(
    cli,
    opts.args,
    (name) => cli.client.call("POST", `/containers/${encodeURIComponent(name)}/unpause`),
  );
}

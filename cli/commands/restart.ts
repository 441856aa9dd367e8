/** `docker restart`: POST /containers/{id}/restart. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";
import { spec as stopSpec, stopQuery } from "./stop.ts";

export const spec: CommandSpec = {
  ...stopSpec,
  short: "Restart one or more containers",
  aliases: ["docker container restart", "docker restart"],
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const query = stopQuery(opts);
  return await forEach(
    cli,
    opts.args,
    (name) => cli.client.call("POST", `/containers/${encodeURIComponent(name)}/restart`, { query }),
  );
}

/** `docker rename`: POST /containers/{id}/rename?name=NEW. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { ConnectError, StatusError } from "../errors.ts";

export const spec: CommandSpec = {
  use: "CONTAINER NEW_NAME",
  short: "Rename a container",
  aliases: ["docker container rename", "docker rename"],
  flags: [],
  args: { exact: 2 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const [old, name] = opts.args.map((a) => a.trim());
  if (!old || !name) throw new StatusError("Error: Neither old nor new names may be empty", 1);
  try {
    await cli.client.call("POST", `/containers/${encodeURIComponent(old)}/rename`, {
      query: { name },
    });
  } catch (e) {
    if (e instanceof ConnectError) throw e;
    cli.err((e as Error).message + "\n");
    throw new StatusError(`Error: failed to rename container named ${old}`, 1);
  }
  return 0;
}

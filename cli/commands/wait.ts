/** `docker wait`: blocks on POST /containers/{id}/wait and prints each exit code. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";

export const spec: CommandSpec = {
  use: "CONTAINER [CONTAINER...]",
  short: "Block until one or more containers stop, then print their exit codes",
  aliases: ["docker container wait", "docker wait"],
  flags: [],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  return await forEach(cli, opts.args, async (name) => {
    const r = await cli.client.json<{ StatusCode: number; Error?: { Message?: string } | null }>(
      "POST",
      `/containers/${encodeURIComponent(name)}/wait`,
    );
    if (r.Error?.Message) throw new Error(r.Error.Message);
    cli.out(`${r.StatusCode}\n`);
  }, { print: false });
}

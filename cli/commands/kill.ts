/** `docker kill`: POST /containers/{id}/kill (the daemon checks the signal's name). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Kill one or more running containers",
  aliases: ["docker container kill", "docker kill"],
  flags: [{ name: "signal", short: "s", type: "string", usage: "Signal to send to the container" }],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const signal = (opts.values.signal as string) || undefined;
  return await forEach(
    cli,
    opts.args,
    (name) =>
      cli.client.call("POST", `/containers/${encodeURIComponent(name)}/kill`, {
        query: { signal },
      }),
  );
}

/** `docker container inspect`. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { formatObject } from "../opts.ts";
import { inspectRefs } from "../inspect.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Display detailed information on one or more containers",
  flags: [
    formatObject("f"),
    { name: "size", short: "s", type: "bool", usage: "Display total file sizes" },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  return await inspectRefs(cli, opts.args, {
    format: opts.values.format as string,
    type: "container",
    size: opts.values.size as boolean,
  });
}

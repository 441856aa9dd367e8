/** `docker inspect`: any object type, auto-detected unless --type says. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { formatObject } from "../opts.ts";
import { checkType, inspectRefs } from "../inspect.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] NAME|ID [NAME|ID...]",
  short: "Return low-level information on Docker objects",
  flags: [
    formatObject("f"),
    {
      name: "size",
      short: "s",
      type: "bool",
      usage: "Display total file sizes if the type is container",
    },
    { name: "type", type: "string", usage: "Only inspect objects of the given type" },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  return await inspectRefs(cli, opts.args, {
    format: v.format as string,
    type: checkType(v.type as string),
    size: v.size as boolean,
  });
}

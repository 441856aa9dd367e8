/** `docker image inspect`. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { formatObject } from "../opts.ts";
import { inspectRefs } from "../inspect.ts";
import { StatusError } from "../errors.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Display detailed information on one or more images",
  flags: [
    formatObject("f"),
    {
      minApi: "1.49",
      name: "platform",
      type: "string",
      usage: "Inspect a specific platform of the multi-platform image.\n" +
        "If the image or the server is not multi-platform capable, the command will error out " +
        "if the platform does not match.\n" +
        "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  if (opts.values.platform) {
    await cli.client.negotiate();
    const [maj, min] = cli.client.version.split(".").map(Number);
    if (maj === 1 && min < 49) {
      throw new StatusError(
        `"--platform" requires API version 1.49, but the Docker daemon API version is ${cli.client.version}`,
        1,
      );
    }
  }
  return await inspectRefs(cli, opts.args, {
    format: opts.values.format as string,
    type: "image",
    size: false,
    platform: (opts.values.platform as string) || undefined,
  });
}

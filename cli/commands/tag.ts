/** `docker tag`: POST /images/{source}/tag?repo=...&tag=... (the target normalized). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { StatusError } from "../errors.ts";
import { parseImageRef } from "../pull.ts";
import { repositoryName } from "../../daemon/images/reference.ts";

export const spec: CommandSpec = {
  use: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  aliases: ["docker image tag", "docker tag"],
  flags: [],
  args: { exact: 2 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const [source, target] = opts.args;
  let ref;
  try {
    ref = parseImageRef(target);
  } catch (e) {
    throw new StatusError(
      `Error parsing reference: "${target}" is not a valid repository/tag: ${(e as Error).message}`,
      1,
    );
  }
  if (ref.digest !== undefined) {
    throw new StatusError("refusing to create a tag with a digest reference", 1);
  }
  await cli.client.call("POST", `/images/${encodeURIComponent(source)}/tag`, {
    query: { repo: repositoryName(ref), tag: ref.tag ?? "latest" },
  });
  return 0;
}

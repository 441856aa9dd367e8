/** `docker create`: the container's id on stdout (pulling a missing image first). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { buildCreate, CREATE_FLAGS } from "../container_opts.ts";
import { createContainer } from "../container_create.ts";
import { StatusError } from "../errors.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  short: "Create a new container",
  aliases: ["docker container create", "docker create"],
  flags: CREATE_FLAGS,
  args: { min: 1 },
  interspersed: false,
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  let req;
  try {
    req = buildCreate(opts);
  } catch (e) {
    throw new StatusError(
      `docker: ${(e as Error).message}\n\nRun 'docker create --help' for more information`,
      125,
    );
  }
  const id = await createContainer(cli, req);
  cli.out(id + "\n");
  return 0;
}

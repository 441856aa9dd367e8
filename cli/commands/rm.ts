/** `docker rm`: DELETE /containers/{id}; with -f a missing container is not an error. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";
import { DaemonError, StatusError } from "../errors.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Remove one or more containers",
  aliases: ["docker container rm", "docker container remove", "docker rm"],
  flags: [
    {
      name: "force",
      short: "f",
      type: "bool",
      usage: "Force the removal of a running container (uses SIGKILL)",
    },
    { name: "link", short: "l", type: "bool", usage: "Remove the specified link" },
    {
      name: "volumes",
      short: "v",
      type: "bool",
      usage: "Remove anonymous volumes associated with the container",
    },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const query = {
    v: v.volumes ? "1" : undefined,
    link: v.link ? "1" : undefined,
    force: v.force ? "1" : undefined,
  };
  return await forEach(
    cli,
    opts.args,
    async (name) => {
      if (name.replace(/^\/+/, "") === "") {
        throw new StatusError("Container name cannot be empty", 1);
      }
      await cli.client.call("DELETE", `/containers/${encodeURIComponent(name)}`, { query });
    },
    { ignore: (e) => !!v.force && e instanceof DaemonError && e.notFound },
  );
}

/** `docker stop`: POST /containers/{id}/stop with the signal and timeout given. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { forEach } from "../each.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Stop one or more running containers",
  aliases: ["docker container stop", "docker stop"],
  flags: [
    { name: "signal", short: "s", type: "string", usage: "Signal to send to the container" },
    {
      name: "timeout",
      short: "t",
      type: "int",
      usage: "Seconds to wait before killing the container",
    },
    {
      name: "time",
      type: "int",
      usage: "Seconds to wait before killing the container",
      hidden: true,
    },
  ],
  args: { min: 1 },
};

/** The query of stop and restart: t only when given, signal only when set. */
export function stopQuery(opts: Parsed): Record<string, string | undefined> {
  const v = opts.values;
  let t: string | undefined;
  if (opts.changed.has("timeout")) t = String(v.timeout);
  else if (opts.changed.has("time")) t = String(v.time);
  return { t, signal: (v.signal as string) || undefined };
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const query = stopQuery(opts);
  return await forEach(
    cli,
    opts.args,
    (name) => cli.client.call("POST", `/containers/${encodeURIComponent(name)}/stop`, { query }),
  );
}

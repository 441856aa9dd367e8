/**
 * `docker logs`: inspect (for the TTY setting), then GET
 * /containers/{id}/logs, copied raw with a TTY or demultiplexed to stdout and
 * stderr.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { demux } from "../stdcopy.ts";
import { writeAll } from "../http.ts";
import { parseTimestamp } from "../units.ts";
import type { ContainerInspect } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER",
  short: "Fetch the logs of a container",
  aliases: ["docker container logs", "docker logs"],
  flags: [
    { name: "details", type: "bool", usage: "Show extra details provided to logs" },
    { name: "follow", short: "f", type: "bool", usage: "Follow log output" },
    {
      name: "since",
      type: "string",
      usage:
        'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
    {
      name: "tail",
      short: "n",
      type: "string",
      usage: "Number of lines to show from the end of the logs",
      default: "all",
    },
    { name: "timestamps", short: "t", type: "bool", usage: "Show timestamps" },
    {
      name: "until",
      type: "string",
      usage:
        'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
  ],
  args: { exact: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const client = cli.client;
  const c = await client.json<ContainerInspect>(
    "GET",
    `/containers/${encodeURIComponent(opts.args[0])}/json`,
  );
  const now = Date.now();
  const res = await client.request("GET", `/containers/${c.Id}/logs`, {
    query: {
      stdout: "1",
      stderr: "1",
      since: v.since ? parseTimestamp(v.since as string, now) : undefined,
      until: v.until ? parseTimestamp(v.until as string, now) : undefined,
      timestamps: v.timestamps ? "1" : undefined,
      details: v.details ? "1" : undefined,
      follow: v.follow ? "1" : undefined,
      tail: v.tail as string,
    },
  });
  try {
    if (c.Config?.Tty) {
      for await (const chunk of res.body) await writeAll(cli.io.stdout, chunk);
    } else {
      await demux(res.body, {
        stdout: (d) => writeAll(cli.io.stdout, d),
        stderr: (d) => writeAll(cli.io.stderr, d),
      });
    }
  } finally {
    res.close();
  }
  return 0;
}

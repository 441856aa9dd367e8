/** `docker save`: GET /images/get?names=..., the tar to -o FILE or to stdout (never a terminal). */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { StatusError } from "../errors.ts";
import { writeAll } from "../http.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
  aliases: ["docker image save", "docker save"],
  flags: [
    { name: "output", short: "o", type: "string", usage: "Write to a file, instead of STDOUT" },
    {
      minApi: "1.48",
      name: "platform",
      type: "string",
      usage:
        'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
    },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const output = opts.values.output as string;
  if (!output && cli.io.stdout.isTerminal()) {
    throw new StatusError(
      "cowardly refusing to save to a terminal. Use the -o flag or redirect",
      1,
    );
  }
  const names = opts.args;
  const query = names.map((n) => `names=${encodeURIComponent(n)}`).join("&");
  const platform = opts.values.platform as string;
  const res = await cli.client.request(
    "GET",
    `/images/get?${query}${
      platform ? `&platform=${encodeURIComponent(platformJson(platform))}` : ""
    }`,
  );
  if (!output) {
    for await (const chunk of res.body) await writeAll(cli.io.stdout, chunk);
    return 0;
  }
  // Written next to the target and renamed, so a failed save leaves no partial file.
  const dir = output.includes("/") ? output.slice(0, output.lastIndexOf("/")) || "/" : ".";
  const tmp = await Deno.makeTempFile({ dir, prefix: ".docker_temp_" });
  try {
    const f = await Deno.open(tmp, { write: true, truncate: true });
    try {
      for await (const chunk of res.body) await writeAll(f, chunk);
    } finally {
      f.close();
    }
    await Deno.chmod(tmp, 0o644);
    await Deno.rename(tmp, output);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new StatusError(`failed to save image: ${(e as Error).message}`, 1);
  }
  return 0;
}

function platformJson(p: string): string {
  const [os, architecture, variant] = p.split("/");
  return JSON.stringify({ os, architecture, ...(variant ? { variant } : {}) });
}

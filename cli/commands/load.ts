/**
 * `docker load`: the tar from -i FILE or stdin to POST /images/load; a JSON
 * answer is rendered as a progress stream, anything else copied.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { StatusError } from "../errors.ts";
import { writeAll } from "../http.ts";
import { displayResponse, JsonMessageError } from "../progress.ts";
import { terminalSize } from "../terminal.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Load an image from a tar archive or STDIN",
  aliases: ["docker image load", "docker load"],
  flags: [
    {
      name: "input",
      short: "i",
      type: "string",
      usage: "Read from tar archive file, instead of STDIN",
    },
    {
      minApi: "1.48",
      name: "platform",
      type: "string",
      usage:
        'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
    },
    { name: "quiet", short: "q", type: "bool", usage: "Suppress the load output" },
  ],
  args: { exact: 0 },
};

async function* readAll(
  r: { read(p: Uint8Array): Promise<number | null> },
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = await r.read(buf);
    if (n === null) return;
    yield buf.subarray(0, n);
  }
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const input = v.input as string;
  let file: Deno.FsFile | undefined;
  if (input) {
    try {
      file = await Deno.open(input);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound
        ? "no such file or directory"
        : (e as Error).message;
      throw new StatusError(`open ${input}: ${why}`, 1);
    }
  } else if (cli.io.stdin.isTerminal()) {
    throw new StatusError(
      "requested load from stdin, but stdin is empty",
      1,
    );
  }
  // Progress bars only make sense on a terminal: otherwise the daemon is asked to be quiet.
  const quiet = v.quiet as boolean || !cli.io.stdout.isTerminal();
  try {
    const res = await cli.client.request("POST", "/images/load", {
      query: { quiet: quiet ? "1" : "0" },
      headers: { "Content-Type": "application/x-tar" },
      body: readAll(file ?? cli.io.stdin),
    });
    if (/application\/json/.test(res.headers.get("content-type") ?? "")) {
      const terminal = cli.io.stdout.isTerminal();
      const width = terminal ? (await terminalSize(cli, [1]))?.cols : undefined;
      await displayResponse(res, (s) => cli.out(s), { terminal, width });
    } else {
      for await (const c of res.body) await writeAll(cli.io.stdout, c);
    }
  } catch (e) {
    if (e instanceof JsonMessageError) throw new StatusError(e.message, 1);
    throw e;
  } finally {
    file?.close();
  }
  return 0;
}

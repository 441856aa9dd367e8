/**
 * `docker pull`: POST /images/create with the normalized reference, the
 * progress stream rendered (bars on a terminal, plain lines otherwise), then
 * the full reference pulled.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { StatusError } from "../errors.ts";
import { parseImageRef, pullImage } from "../pull.ts";
import { referenceString, repositoryName } from "../../daemon/images/reference.ts";
import { JsonMessageError } from "../progress.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] NAME[:TAG|@DIGEST]",
  short: "Download an image from a registry",
  aliases: ["docker image pull", "docker pull"],
  flags: [
    {
      name: "all-tags",
      short: "a",
      type: "bool",
      usage: "Download all tagged images in the repository",
    },
    {
      name: "disable-content-trust",
      type: "bool",
      usage: "Skip image verification",
      default: true,
    },
    { name: "platform", type: "string", usage: "Set platform if server is multi-platform capable" },
    { name: "quiet", short: "q", type: "bool", usage: "Suppress verbose output" },
  ],
  args: { exact: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  let ref;
  try {
    ref = parseImageRef(opts.args[0]);
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
  const all = v["all-tags"] as boolean;
  if (all && ref.tag !== undefined) {
    throw new StatusError("tag can't be used with --all-tags/-a", 1);
  }
  if (!all && ref.tag === undefined && ref.digest === undefined) {
    ref = { ...ref, tag: "latest" };
    if (!v.quiet) cli.out("Using default tag: latest\n");
  }
  try {
    await pullImage(cli, ref, {
      all,
      platform: (v.platform as string) || undefined,
      progress: !v.quiet,
      out: (s) => cli.out(s),
      terminal: cli.io.stdout.isTerminal(),
    });
  } catch (e) {
    if (e instanceof JsonMessageError) throw new StatusError(e.message, 1);
    throw e;
  }
  cli.out((all ? repositoryName(ref) : referenceString(ref)) + "\n");
  return 0;
}

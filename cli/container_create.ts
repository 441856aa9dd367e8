/**
 * Creating a container as run and create do: POST /containers/create, and
 * when the image is missing (and --pull allows) "Unable to find image ...
 * locally", a pull to stderr, and a second try; --pull=always pulls first.
 * Warnings of the answer go to stderr; --cidfile receives the id.
 */
import type { Cli } from "./cli.ts";
import type { CreateRequest } from "./container_opts.ts";
import { DaemonError } from "./errors.ts";
import { parseImageRef, pullImage, taggedFamiliar } from "./pull.ts";
import { withDefaultTag } from "../daemon/images/reference.ts";

export interface CreateAnswer {
  Id: string;
  Warnings?: string[] | null;
}

/** Reserves the --cidfile path before creating (it must not exist yet). */
function openCidfile(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Error(
        `container ID file found, make sure the other container isn't running or delete ${path}`,
      );
    }
    throw new Error(`failed to create the container ID file: ${(e as Error).message}`);
  }
}

export async function createContainer(cli: Cli, req: CreateRequest): Promise<string> {
  const image = req.body.Image ?? "";
  const ref = withDefaultTag(parseImageRef(image));
  const cid = req.cidfile ? openCidfile(req.cidfile) : undefined;
  const pull = () =>
    pullImage(cli, ref, {
      platform: req.platform,
      progress: !req.quiet,
      out: (s) => cli.err(s),
      terminal: cli.io.stderr.isTerminal(),
      fd: 2,
    });
  const create = () =>
    cli.client.json<CreateAnswer>("POST", "/containers/create", {
      query: { name: req.name, platform: req.platform },
      json: req.body,
    });
  try {
    if (req.pull === "always") await pull();
    let answer: CreateAnswer;
    try {
      answer = await create();
    } catch (e) {
      if (!(e instanceof DaemonError && e.notFound && req.pull === "missing")) throw e;
      if (!/no such image|not found/i.test(e.daemonMessage)) throw e;
      cli.err(`Unable to find image '${taggedFamiliar(image)}' locally\n`);
      await pull();
      answer = await create();
    }
    for (const w of answer.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
    if (cid) {
      cid.writeSync(new TextEncoder().encode(answer.Id));
      cid.close();
    }
    return answer.Id;
  } catch (e) {
    if (cid) {
      cid.close();
      try {
        Deno.removeSync(req.cidfile!);
      } catch { /* gone */ }
    }
    throw e;
  }
}

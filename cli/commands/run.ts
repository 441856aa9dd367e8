/**
 * `docker run`: create (pulling a missing image), attach, wait, start, and
 * stream until the container exits; the exit status is the container's, or
 * 125 (the daemon refused), 126 (cannot invoke) or 127 (not found).
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { buildCreate, CONTAINER_FLAGS } from "../container_opts.ts";
import { createContainer } from "../container_create.ts";
import { StatusError } from "../errors.ts";
import { detachKeys, streamHijacked } from "../hijack.ts";
import { monitorTtySize } from "../terminal.ts";
import { forwardSignals } from "../signal_proxy.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  short: "Create and run a new container from an image",
  aliases: ["docker container run", "docker run"],
  flags: CONTAINER_FLAGS,
  args: { min: 1 },
  interspersed: false,
};

/** The CLI's toStatusError: the message with a pointer to --help, and the status it implies. */
export function runError(e: unknown, command = "run"): StatusError {
  if (e instanceof StatusError) return e;
  const msg = (e as Error)?.message ?? String(e);
  let status = 125;
  if (
    /executable file not found|no such file or directory|system cannot find the file specified/
      .test(msg)
  ) {
    status = 127;
  } else if (/permission denied|is a directory/.test(msg)) {
    status = 126;
  }
  return new StatusError(
    `docker: ${msg}\n\nRun 'docker ${command} --help' for more information`,
    status,
  );
}

interface WaitAnswer {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  if (opts.values.detach && (opts.values.attach as string[]).length) {
    throw new StatusError("conflicting options: cannot specify both --attach and --detach", 1);
  }
  let req;
  try {
    req = buildCreate(opts);
  } catch (e) {
    throw new StatusError(
      `docker: ${(e as Error).message}\n\nRun 'docker run --help' for more information`,
      125,
    );
  }
  const v = opts.values;
  const body = req.body;
  const detach = v.detach as boolean;
  const tty = !!body.Tty;
  if (detach) {
    body.AttachStdin = false;
    body.AttachStdout = false;
    body.AttachStderr = false;
    body.StdinOnce = false;
  } else if (tty && body.AttachStdin && !cli.io.stdin.isTerminal()) {
    throw new StatusError("the input device is not a TTY", 1);
  }
  const client = cli.client;
  let id: string;
  try {
    id = await createContainer(cli, req);
  } catch (e) {
    throw runError(e);
  }

  if (detach) {
    try {
      await client.call("POST", `/containers/${id}/start`);
    } catch (e) {
      throw runError(e);
    }
    cli.out(id + "\n");
    return 0;
  }

  const keys = detachKeys(cli, v["detach-keys"] as string);
  const attached = body.AttachStdin || body.AttachStdout || body.AttachStderr;
  let attach;
  if (attached) {
    try {
      attach = await client.hijack("POST", `/containers/${id}/attach`, {
        query: {
          stream: "1",
          stdin: body.AttachStdin ? "1" : undefined,
          stdout: body.AttachStdout ? "1" : undefined,
          stderr: body.AttachStderr ? "1" : undefined,
          detachKeys: keys || undefined,
        },
        headers: { "Content-Type": "text/plain" },
      });
    } catch (e) {
      throw runError(e);
    }
  }

  // The wait is registered before the start, so that a quick exit is not missed.
  const { promise: sent, resolve: onSent } = Promise.withResolvers<void>();
  const waiting = client.json<WaitAnswer>("POST", `/containers/${id}/wait`, {
    query: { condition: body.HostConfig?.AutoRemove ? "removed" : "next-exit" },
    onSent,
  });
  waiting.catch(() => {});
  await Promise.race([sent, waiting]);

  try {
    await client.call("POST", `/containers/${id}/start`);
  } catch (e) {
    attach?.close();
    if (body.HostConfig?.AutoRemove) await waiting.catch(() => {});
    throw runError(e);
  }

  const stopResize = tty
    ? await monitorTtySize(
      cli,
      (h, w) => client.call("POST", `/containers/${id}/resize`, { query: { h, w } }),
    )
    : () => {};
  const stopSignals = v["sig-proxy"] && !tty ? forwardSignals(cli, id) : () => {};
  try {
    if (attach) {
      const end = await streamHijacked(cli, attach, {
        tty,
        stdin: !!body.AttachStdin,
        stdout: !!body.AttachStdout,
        stderr: !!body.AttachStderr,
        detachKeys: keys,
      });
      if (end === "detached") return 0;
    }
    let status: WaitAnswer;
    try {
      status = await waiting;
    } catch (e) {
      throw runError(e);
    }
    if (status.Error?.Message) {
      cli.err(status.Error.Message + "\n");
      return 125;
    }
    return status.StatusCode;
  } finally {
    stopResize();
    stopSignals();
  }
}

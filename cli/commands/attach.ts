/**
 * `docker attach`: wait registered first, the container checked (running,
 * not paused), POST /containers/{id}/attach hijacked; the container's exit
 * status becomes ours; typing the detach keys ends with "read escape sequence".
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { DETACH_KEYS } from "../opts.ts";
import { StatusError } from "../errors.ts";
import { detachKeys, streamHijacked } from "../hijack.ts";
import { monitorTtySize, terminalSize } from "../terminal.ts";
import { forwardSignals } from "../signal_proxy.ts";
import type { Client } from "../client.ts";
import type { ContainerInspect } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER",
  short: "Attach local standard input, output, and error streams to a running container",
  aliases: ["docker container attach", "docker attach"],
  flags: [
    DETACH_KEYS,
    { name: "no-stdin", type: "bool", usage: "Do not attach STDIN" },
    {
      name: "sig-proxy",
      type: "bool",
      usage: "Proxy all received signals to the process",
      default: true,
    },
  ],
  args: { exact: 1 },
};

async function inspectRunning(client: Client, name: string): Promise<ContainerInspect> {
  const c = await client.json<ContainerInspect>(
    "GET",
    `/containers/${encodeURIComponent(name)}/json`,
  );
  if (!c.State.Running) {
    throw new StatusError("You cannot attach to a stopped container, start it first", 1);
  }
  if (c.State.Paused) {
    throw new StatusError("You cannot attach to a paused container, unpause it first", 1);
  }
  if (c.State.Restarting) {
    throw new StatusError(
      "You cannot attach to a restarting container, wait until it is running",
      1,
    );
  }
  return c;
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const name = opts.args[0];
  const client = cli.client;
  await client.negotiate();
  const { promise: sent, resolve: onSent } = Promise.withResolvers<void>();
  const waiting = client.json<{ StatusCode: number; Error?: { Message?: string } | null }>(
    "POST",
    `/containers/${encodeURIComponent(name)}/wait`,
    { onSent },
  );
  waiting.catch(() => {});
  await Promise.race([sent, waiting.catch(() => {})]);
  const c = await inspectRunning(client, name);
  const tty = !!c.Config.Tty;
  if (!v["no-stdin"] && tty && !cli.io.stdin.isTerminal()) {
    throw new StatusError("the input device is not a TTY", 1);
  }
  const keys = detachKeys(cli, v["detach-keys"] as string);
  const stdin = !v["no-stdin"] && !!c.Config.OpenStdin;
  const stopSignals = v["sig-proxy"] && !tty ? forwardSignals(cli, name) : () => {};
  try {
    const res = await client.hijack("POST", `/containers/${encodeURIComponent(name)}/attach`, {
      query: {
        stream: "1",
        stdin: stdin ? "1" : undefined,
        stdout: "1",
        stderr: "1",
        detachKeys: keys || undefined,
      },
      headers: { "Content-Type": "text/plain" },
    });
    await inspectRunning(client, name);
    const resize = (h: number, w: number) =>
      client.call("POST", `/containers/${encodeURIComponent(name)}/resize`, { query: { h, w } });
    let stopResize = () => {};
    if (tty && cli.io.stdout.isTerminal()) {
      // One size off first, then the real one: the shell redraws its prompt on the change
      // (a second attach would otherwise show nothing until a key is pressed).
      const ws = await terminalSize(cli);
      if (ws) await resize(ws.rows + 1, ws.cols + 1).catch(() => {});
      stopResize = await monitorTtySize(cli, resize);
    }
    try {
      const end = await streamHijacked(cli, res, {
        tty,
        stdin,
        stdout: true,
        stderr: true,
        detachKeys: keys,
      });
      if (end === "detached") throw new StatusError("read escape sequence", 1);
    } finally {
      stopResize();
    }
  } finally {
    stopSignals();
  }
  const result = await waiting;
  if (result.Error?.Message) throw new StatusError(result.Error.Message, 1);
  return result.StatusCode;
}

/**
 * `docker start`: start each container; with -a / -i, attach to one
 * container first and stream until it exits (its exit status becomes ours).
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { DETACH_KEYS } from "../opts.ts";
import { ConnectError, StatusError } from "../errors.ts";
import { detachKeys, streamHijacked } from "../hijack.ts";
import { monitorTtySize } from "../terminal.ts";
import { forwardSignals } from "../signal_proxy.ts";
import type { ContainerInspect } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Start one or more stopped containers",
  aliases: ["docker container start", "docker start"],
  flags: [
    { name: "attach", short: "a", type: "bool", usage: "Attach STDOUT/STDERR and forward signals" },
    {
      name: "checkpoint",
      experimental: true,
      type: "string",
      usage: "Restore from this checkpoint",
    },
    {
      name: "checkpoint-dir",
      experimental: true,
      type: "string",
      usage: "Use a custom checkpoint storage directory",
    },
    DETACH_KEYS,
    { name: "interactive", short: "i", type: "bool", usage: "Attach container's STDIN" },
  ],
  args: { min: 1 },
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const client = cli.client;
  if (v.attach || v.interactive) {
    if (opts.args.length > 1) {
      throw new StatusError("you cannot start and attach multiple containers at once", 1);
    }
    const name = opts.args[0];
    const c = await client.json<ContainerInspect>(
      "GET",
      `/containers/${encodeURIComponent(name)}/json`,
    );
    const tty = !!c.Config.Tty;
    const stdin = !!v.interactive && !!c.Config.OpenStdin;
    if (tty && stdin && !cli.io.stdin.isTerminal()) {
      throw new StatusError("the input device is not a TTY", 1);
    }
    const keys = detachKeys(cli, v["detach-keys"] as string);
    const attach = await client.hijack("POST", `/containers/${c.Id}/attach`, {
      query: {
        stream: "1",
        stdin: stdin ? "1" : undefined,
        stdout: "1",
        stderr: "1",
        detachKeys: keys || undefined,
      },
      headers: { "Content-Type": "text/plain" },
    });
    const { promise: sent, resolve: onSent } = Promise.withResolvers<void>();
    const waiting = client.json<{ StatusCode: number }>("POST", `/containers/${c.Id}/wait`, {
      query: { condition: c.HostConfig?.AutoRemove ? "removed" : "next-exit" },
      onSent,
    });
    waiting.catch(() => {});
    await Promise.race([sent, waiting]);
    try {
      await client.call("POST", `/containers/${encodeURIComponent(name)}/start`, {
        query: {
          checkpoint: (v.checkpoint as string) || undefined,
          "checkpoint-dir": (v["checkpoint-dir"] as string) || undefined,
        },
      });
    } catch (e) {
      attach.close();
      throw e;
    }
    const stopResize = tty
      ? await monitorTtySize(
        cli,
        (h, w) => client.call("POST", `/containers/${c.Id}/resize`, { query: { h, w } }),
      )
      : () => {};
    const stopSignals = !tty ? forwardSignals(cli, c.Id) : () => {};
    try {
      const end = await streamHijacked(cli, attach, {
        tty,
        stdin,
        stdout: true,
        stderr: true,
        detachKeys: keys,
      });
      if (end === "detached") return 0;
      const status = await waiting;
      return status.StatusCode;
    } finally {
      stopResize();
      stopSignals();
    }
  }

  const failed: string[] = [];
  for (const name of opts.args) {
    try {
      await client.call("POST", `/containers/${encodeURIComponent(name)}/start`, {
        query: {
          checkpoint: (v.checkpoint as string) || undefined,
          "checkpoint-dir": (v["checkpoint-dir"] as string) || undefined,
        },
      });
      cli.out(name + "\n");
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      cli.err((e as Error).message + "\n");
      failed.push(name);
    }
  }
  if (failed.length) {
    throw new StatusError(`Error: failed to start containers: ${failed.join(", ")}`, 1);
  }
  return 0;
}

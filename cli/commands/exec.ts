/**
 * `docker exec`: inspect (a missing container is reported first), POST
 * /containers/{id}/exec, then POST /exec/{id}/start hijacked (or detached),
 * and the exit code from GET /exec/{id}/json.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { DETACH_KEYS } from "../opts.ts";
import { expandEnv, parseEnvFile } from "../container_opts.ts";
import { StatusError } from "../errors.ts";
import { detachKeys, streamHijacked } from "../hijack.ts";
import { monitorTtySize, terminalSize } from "../terminal.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER COMMAND [ARG...]",
  short: "Execute a command in a running container",
  aliases: ["docker container exec", "docker exec"],
  flags: [
    {
      name: "detach",
      short: "d",
      type: "bool",
      usage: "Detached mode: run command in the background",
    },
    DETACH_KEYS,
    { name: "env", short: "e", type: "list", usage: "Set environment variables" },
    { name: "env-file", type: "list", usage: "Read in a file of environment variables" },
    {
      name: "interactive",
      short: "i",
      type: "bool",
      usage: "Keep STDIN open even if not attached",
    },
    { name: "privileged", type: "bool", usage: "Give extended privileges to the command" },
    { name: "tty", short: "t", type: "bool", usage: "Allocate a pseudo-TTY" },
    {
      name: "user",
      short: "u",
      type: "string",
      usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")',
    },
    {
      name: "workdir",
      short: "w",
      type: "string",
      usage: "Working directory inside the container",
    },
  ],
  args: { min: 2 },
  interspersed: false,
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const [container, ...cmd] = opts.args;
  const detach = v.detach as boolean;
  const tty = v.tty as boolean;
  let env: string[];
  try {
    env = [
      ...(v["env-file"] as string[]).flatMap((f) => parseEnvFile(f)),
      ...(v.env as string[]).map(expandEnv),
    ];
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
  const keys = detachKeys(cli, v["detach-keys"] as string);
  const attachStdin = !detach && v.interactive as boolean;
  const client = cli.client;
  await client.json("GET", `/containers/${encodeURIComponent(container)}/json`);
  if (!detach && tty && attachStdin && !cli.io.stdin.isTerminal()) {
    throw new StatusError("the input device is not a TTY", 1);
  }
  const size = tty ? await terminalSize(cli) : undefined;
  const consoleSize = tty ? [size?.rows ?? 0, size?.cols ?? 0] : undefined;
  const body: Record<string, unknown> = {
    User: v.user,
    Privileged: v.privileged,
    Tty: tty,
    ...(consoleSize ? { ConsoleSize: consoleSize } : {}),
    AttachStdin: attachStdin,
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: keys,
    Env: env.length ? env : null,
    WorkingDir: v.workdir,
    Cmd: cmd,
  };
  const created = await client.json<{ Id: string }>(
    "POST",
    `/containers/${encodeURIComponent(container)}/exec`,
    { json: body },
  );
  const execId = created.Id;
  if (!execId) throw new StatusError("exec ID empty", 1);
  const start = { Detach: detach, Tty: tty, ...(consoleSize ? { ConsoleSize: consoleSize } : {}) };
  if (detach) {
    await client.call("POST", `/exec/${execId}/start`, { json: start });
    return 0;
  }
  const res = await client.hijack("POST", `/exec/${execId}/start`, { json: start });
  const stopResize = tty && cli.io.stdin.isTerminal()
    ? await monitorTtySize(
      cli,
      (h, w) => client.call("POST", `/exec/${execId}/resize`, { query: { h, w } }),
    )
    : () => {};
  try {
    const end = await streamHijacked(cli, res, {
      tty,
      stdin: attachStdin,
      stdout: true,
      stderr: true,
      detachKeys: keys,
    });
    if (end === "detached") throw new StatusError("read escape sequence", 1);
  } finally {
    stopResize();
  }
  const inspect = await client.json<{ ExitCode: number | null }>("GET", `/exec/${execId}/json`);
  return inspect.ExitCode ?? 0;
}

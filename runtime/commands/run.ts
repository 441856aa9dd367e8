/**
 * `run`: create + start. Detached, it returns at once; in the foreground it
 * waits for the container's process, relays signals (and, with a terminal
 * but no --console-socket, the terminal itself), deletes the container and
 * exits with the process's exit code.
 */
import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { createContainer } from "../container/create.ts";
import { startContainer } from "../container/start.ts";
import { destroyContainer } from "../container/delete.ts";
import { openContainer } from "../container/container.ts";
import { CREATE_FLAGS, oneId, preserveFds } from "./common.ts";
import {
  exitCode,
  type OwnConsole,
  proxyTerminal,
  receiveConsole,
  relaySignals,
  type TerminalProxy,
} from "../container/terminal_proxy.ts";

const run: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, {
    ...CREATE_FLAGS,
    detach: { type: "boolean", short: "d" },
  });
  const id = oneId(positionals, "run");
  const bundle = flags.bundle ?? Deno.cwd();
  let ownConsole: OwnConsole | undefined;
  if (!flags["console-socket"] && !flags.detach && wantsTerminal(bundle)) {
    Deno.mkdirSync(ctx.root, { recursive: true, mode: 0o700 });
    ownConsole = receiveConsole(`${ctx.root}/.console-${id}-${Deno.pid}.sock`);
  }
  try {
    const { rec, init } = await createContainer(ctx, {
      id,
      bundle,
      consoleSocket: flags["console-socket"] ?? ownConsole?.path,
      pidFile: flags["pid-file"],
      noPivot: flags["no-pivot"],
      preserveFds: preserveFds(flags["preserve-fds"]),
    });
    if (flags.detach) {
      await startContainer(ctx, id);
      return 0;
    }
    const unrelay = relaySignals(rec.pid);
    let proxy: TerminalProxy | undefined;
    try {
      if (ownConsole) proxy = proxyTerminal(await ownConsole.master);
      await startContainer(ctx, id);
      const status = await init.child.status;
      if (proxy) await Promise.race([proxy.done, new Promise((r) => setTimeout(r, 1000))]);
      return exitCode(status);
    } finally {
      proxy?.stop();
      unrelay();
      await destroyContainer(ctx, openContainer(ctx, id)).catch((e) => ctx.log.warn(e.message));
    }
  } finally {
    ownConsole?.cleanup();
  }
};
export default run;

function wantsTerminal(bundle: string): boolean {
  try {
    return JSON.parse(Deno.readTextFileSync(`${bundle}/config.json`)).process?.terminal === true;
  } catch {
    return false; // create reports the problem with the config
  }
}

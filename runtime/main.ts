/**
 * The `runc` role: an OCI runtime with runc's command line, so that
 * containerd, Docker and people can use it in runc's place.
 */
import { parseFlags, UsageError } from "./args.ts";
import { Logger } from "./log.ts";
import { DEFAULT_ROOT, OCI_VERSION } from "./container/state.ts";
import type { Command } from "./context.ts";

export const VERSION = "0.1.0";

/**
 * Each command in its own module, loaded only when used. The specifier is
 * computed, not a literal, so that Deno does not walk every command's module
 * graph at start-up (see main.ts; `deno task compile` includes them).
 */
const COMMANDS = new Set([
  "create",
  "start",
  "run",
  "state",
  "kill",
  "delete",
  "list",
  "pause",
  "resume",
  "exec",
  "ps",
  "spec",
  "events",
  "update",
  "features",
]);

function loadCommand(name: string): Promise<{ default: Command }> {
  return import(new URL(`./commands/${name}.ts`, import.meta.url).href);
}

const GLOBAL_FLAGS = {
  root: { type: "string" },
  log: { type: "string" },
  "log-format": { type: "string" },
  debug: { type: "boolean" },
  "systemd-cgroup": { type: "boolean" },
  criu: { type: "string" },
  rootless: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

function help(): string {
  return `berth-runc: an OCI runtime (runc-compatible command line)

usage: runc [global options] command [command options] [arguments...]

commands:
  create   create a container from a bundle          start    start a created container
  run      create and start a container              state    output the state of a container
  kill     send a signal to a container's init       delete   delete a container
  list     list containers                           ps       processes running in a container
  pause    freeze every process of a container       resume   thaw a paused container
  exec     run a new process in a container          events   container events and stats
  update   change a container's resource limits      spec     write a default config.json
  features the runtime's supported features

global options:
  --root DIR          state directory (default ${DEFAULT_ROOT})
  --log FILE          also log to FILE;  --log-format text|json
  --debug             debug logging
  --systemd-cgroup    not supported: berth drives cgroupfs directly`;
}

export async function main(args: string[]): Promise<number> {
  let log = new Logger(undefined, "text", false);
  try {
    const { flags, positionals } = parseFlags(args, GLOBAL_FLAGS, { stopAtFirstPositional: true });
    const format = flags["log-format"] ?? "text";
    if (format !== "text" && format !== "json") {
      throw new UsageError(`invalid log format "${format}"`);
    }
    log = new Logger(flags.log, format, flags.debug ?? false);
    if (flags.version) {
      console.log(`berth-runc version ${VERSION}\nspec: ${OCI_VERSION}`);
      return 0;
    }
    const [name, ...rest] = positionals;
    if (flags.help || name === undefined || name === "help") {
      console.log(help());
      return name === undefined && !flags.help ? 1 : 0;
    }
    if (flags["systemd-cgroup"]) {
      throw new Error(
        "--systemd-cgroup is not supported: berth manages cgroups through cgroupfs (set SystemdCgroup = false)",
      );
    }
    if (!COMMANDS.has(name)) throw new UsageError(`unknown command "${name}" (see runc --help)`);
    const root = flags.root ?? DEFAULT_ROOT;
    return await (await loadCommand(name)).default({ root, log }, rest);
  } catch (e) {
    log.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

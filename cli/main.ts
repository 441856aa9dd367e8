/**
 * The `docker` role: berth's Docker-compatible command-line client. Global
 * options come before the command (as in the Docker CLI); the command's
 * module is imported only when it runs, so `docker version` loads what
 * `version` needs and nothing else.
 */
import { type FlagDef, FlagError, flagUsages, parseFlags } from "./flags.ts";
import { Cli, type Globals, type Io, processIo } from "./cli.ts";
import { defaultConfigDir } from "./config.ts";
import { COMMANDS, type Entry, GROUPS, HIDDEN_ALIASES } from "./registry.ts";
import {
  checkArgs,
  type CommandModule,
  type CommandSpec,
  flagError,
  helpText,
  helpWidth,
  parseCommand,
} from "./command.ts";
import { ConnectError, DaemonError, StatusError } from "./errors.ts";
import { CLI_VERSION } from "./client.ts";

function globalFlags(configDir: string): FlagDef[] {
  return [
    {
      name: "config",
      type: "string",
      usage: "Location of client config files",
      default: configDir,
    },
    {
      name: "context",
      short: "c",
      type: "string",
      usage:
        'Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")',
    },
    { name: "debug", short: "D", type: "bool", usage: "Enable debug mode" },
    { name: "host", short: "H", type: "list", usage: "Daemon socket to connect to" },
    {
      name: "log-level",
      short: "l",
      type: "string",
      usage: 'Set the logging level ("debug", "info", "warn", "error", "fatal")',
      default: "info",
    },
    { name: "tls", type: "bool", usage: "Use TLS; implied by --tlsverify" },
    {
      name: "tlscacert",
      type: "string",
      usage: "Trust certs signed only by this CA",
      default: `${configDir}/ca.pem`,
    },
    {
      name: "tlscert",
      type: "string",
      usage: "Path to TLS certificate file",
      default: `${configDir}/cert.pem`,
    },
    {
      name: "tlskey",
      type: "string",
      usage: "Path to TLS key file",
      default: `${configDir}/key.pem`,
    },
    { name: "tlsverify", type: "bool", usage: "Use TLS and verify the remote" },
    { name: "version", short: "v", type: "bool", usage: "Print version information and quit" },
  ];
}

const ROOT_USE = "docker [OPTIONS] COMMAND [ARG...]";
const LOG_LEVELS = ["panic", "fatal", "error", "warn", "warning", "info", "debug", "trace"];

function commandList(entries: [string, { short: string }][]): string {
  return entries.map(([name, e]) => `  ${name.padEnd(11)} ${e.short}\n`).join("");
}

function rootHelp(defs: FlagDef[]): string {
  const section = (s: string) =>
    commandList(Object.entries(COMMANDS).filter(([, e]) => e.section === s));
  const sorted = (s: string) =>
    commandList(
      Object.entries(COMMANDS).filter(([, e]) => e.section === s).sort(([a], [b]) =>
        a < b ? -1 : 1
      ),
    );
  return `Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
${section("common")}
Management Commands:
${sorted("management")}
Commands:
${sorted("other")}
Global Options:
${flagUsages(defs, helpWidth())}
Run 'docker COMMAND --help' for more information on a command.

For more help on how to use Docker, head to https://docs.docker.com/go/guides/
`;
}

function groupHelp(group: string): string {
  const subs = Object.entries(GROUPS[group]).filter(([n]) => !HIDDEN_ALIASES.has(n));
  return `Usage:  docker ${group} COMMAND

${COMMANDS[group].short}

Commands:
${commandList(subs)}
Run 'docker ${group} COMMAND --help' for more information on a command.
`;
}

async function loadCommand(entry: Entry): Promise<CommandModule> {
  // A computed specifier: `deno run` does not walk the commands at start-up.
  const url = new URL(`./commands/${entry.module}.ts`, import.meta.url).href;
  return await import(url) as CommandModule;
}

/** Maps an error to what the CLI prints and its exit status. */
export function report(cli: Cli, e: unknown): number {
  if (e instanceof StatusError) {
    if (e.message) cli.err(e.message + "\n");
    return e.status || 1;
  }
  if (e instanceof DaemonError || e instanceof ConnectError) {
    cli.err(e.message + "\n");
    return 1;
  }
  if (e instanceof Deno.errors.BrokenPipe) return 1;
  cli.err(`${(e as Error)?.message ?? e}\n`);
  return 1;
}

export async function main(args: string[], io: Io = processIo()): Promise<number> {
  const configDefault = defaultConfigDir();
  const defs = globalFlags(configDefault);
  const bootstrap = new Cli(
    {
      configDir: configDefault,
      debug: false,
      logLevel: "info",
      hosts: [],
      tls: false,
      tlsVerify: false,
    },
    "docker",
    io,
  );
  let parsed;
  try {
    parsed = parseFlags(defs, args, { interspersed: false });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    bootstrap.err(
      `${e.message}\n\nUsage:  ${ROOT_USE}\n\nRun 'docker --help' for more information\n`,
    );
    return 125;
  }
  const v = parsed.values;
  const globals: Globals = {
    configDir: v.config as string,
    debug: v.debug as boolean,
    logLevel: v["log-level"] as string,
    hosts: v.host as string[],
    context: parsed.changed.has("context") ? v.context as string : undefined,
    tls: v.tls as boolean,
    tlsVerify: v.tlsverify as boolean,
    tlsCaCert: parsed.changed.has("tlscacert") ? v.tlscacert as string : undefined,
    tlsCert: parsed.changed.has("tlscert") ? v.tlscert as string : undefined,
    tlsKey: parsed.changed.has("tlskey") ? v.tlskey as string : undefined,
  };
  if (globals.debug) globals.logLevel = "debug";
  const cli = new Cli(globals, "docker", io);

  if (v.version) {
    cli.out(`Docker version ${CLI_VERSION}, build berth\n`);
    return 0;
  }
  if (!LOG_LEVELS.includes(globals.logLevel)) {
    cli.err(`Unable to parse logging level: ${globals.logLevel}\n`);
    return 1;
  }
  let [name, ...rest] = parsed.args;
  if (parsed.help) {
    let help = rootHelp(defs);
    // The CLI's quirk: once -H is given, its (empty) default shows.
    if (globals.hosts.length) {
      help = help.replace(
        "Daemon socket to connect to\n",
        "Daemon socket to connect to (default )\n",
      );
    }
    cli.out(help);
    return 0;
  }
  // Without a command the help goes to stderr (cobra's behaviour), still status 0.
  if (name === undefined) {
    cli.err(rootHelp(defs));
    return 0;
  }
  // `docker help [COMMAND...]` is `docker [COMMAND...] --help`.
  if (name === "help") {
    if (!rest.length) {
      cli.out(rootHelp(defs));
      return 0;
    }
    const topic = COMMANDS[rest[0]];
    if (!topic || (!topic.module && rest[1] !== undefined && !GROUPS[rest[0]][rest[1]])) {
      cli.err(`unknown help topic: ${rest.join(" ")}\n`);
      return 1;
    }
    [name, ...rest] = [...rest.filter((a) => !a.startsWith("-")), "--help"];
  }
  const top = COMMANDS[name];
  if (!top) {
    cli.err(
      `docker: unknown command: docker ${name}\n\nRun 'docker --help' for more information\n`,
    );
    return 1;
  }
  let entry: Entry = top;
  let path = `docker ${name}`;
  if (!top.module) {
    const sub = rest[0];
    if (sub === "--help" || sub === "-h") {
      cli.out(groupHelp(name));
      return 0;
    }
    if (sub === undefined) {
      cli.err(groupHelp(name));
      return 0;
    }
    if (sub.startsWith("-")) {
      const spec: CommandSpec = { use: "COMMAND", short: top.short, flags: [] };
      return report(cli, flagError(path, spec, unknownFlagMessage(sub)));
    }
    const subEntry = GROUPS[name][sub];
    if (!subEntry) {
      cli.err(
        `docker: unknown command: docker ${name} ${sub}\n\nUsage:  docker ${name}\n\n` +
          `Run 'docker ${name} --help' for more information\n`,
      );
      return 1;
    }
    entry = subEntry;
    path = `${path} ${sub}`;
    rest = rest.slice(1);
  }

  const ccli = cli.forCommand(path);
  try {
    const mod = await loadCommand(entry);
    const opts = parseCommand(path, mod.spec, rest);
    if (opts.help) {
      ccli.out(helpText(path, await forDaemon(ccli, mod.spec)));
      return 0;
    }
    checkArgs(path, mod.spec, opts.args);
    return await mod.run(ccli, opts);
  } catch (e) {
    return report(ccli, e);
  }
}

/**
 * The CLI hides flags of another OS's daemons from help when it can ask the
 * daemon its OS type (a ping); without an answer every flag shows.
 */
async function forDaemon(cli: Cli, spec: CommandSpec): Promise<CommandSpec> {
  if (!spec.flags.some((f) => f.osType || f.minApi || f.experimental)) return spec;
  let ping;
  try {
    ping = await cli.client.ping();
  } catch { /* no daemon: show everything */ }
  if (!ping) return spec;
  const older = (a: string, b: string) => {
    const [a1, a2] = a.split(".").map(Number), [b1, b2] = b.split(".").map(Number);
    return a1 - b1 || a2 - b2;
  };
  const api = ping.apiVersion ?? "1.24";
  return {
    ...spec,
    flags: spec.flags.filter((f) =>
      (!f.osType || !ping.osType || f.osType === ping.osType) &&
      (!f.minApi || older(api, f.minApi) >= 0) &&
      (!f.experimental || ping.experimental)
    ),
  };
}

function unknownFlagMessage(arg: string): string {
  return arg.startsWith("--")
    ? `unknown flag: ${arg.split("=")[0]}`
    : `unknown shorthand flag: '${arg[1]}' in ${arg}`;
}

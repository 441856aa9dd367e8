/**
 * What every command module exports (`spec` and `run`), the checks the
 * Docker CLI makes before a command runs (flags, argument counts) with its
 * exact messages, and the help page layout.
 */
import { FlagDef, FlagError, flagUsages, type Parsed, parseFlags } from "./flags.ts";
import { StatusError } from "./errors.ts";
import type { Cli } from "./cli.ts";

export interface ArgRule {
  /** Exactly this many arguments. */
  exact?: number;
  min?: number;
  max?: number;
}

export interface CommandSpec {
  /** What follows the command path in "Usage:", e.g. "[OPTIONS] CONTAINER [CONTAINER...]". */
  use: string;
  /** One-line description. */
  short: string;
  /** Longer description shown instead of `short` in help. */
  long?: string;
  /** Every path that reaches this command ("docker container ls", ...), for "Aliases:". */
  aliases?: string[];
  flags: FlagDef[];
  args?: ArgRule;
  /** false: flags end at the first argument (run, exec: the rest is the container's command). */
  interspersed?: boolean;
  /** Extra lines in the usage block (cp has two forms). */
  extraUsage?: string[];
}

export interface CommandModule {
  spec: CommandSpec;
  run(cli: Cli, opts: Parsed): Promise<number>;
}

/** The usage line: "docker ps [OPTIONS]". */
export function useLine(path: string, spec: CommandSpec): string {
  return spec.use ? `${path} ${spec.use}` : path;
}

function usageBlock(path: string, spec: CommandSpec): string {
  return [useLine(path, spec), ...(spec.extraUsage ?? []).map((u) => `\t${path} ${u}`)].join("\n");
}

/** A flag error with the usage lines, exit 125 (cli.FlagErrorFunc). */
export function flagError(path: string, spec: CommandSpec, message: string): StatusError {
  return new StatusError(
    `${message}\n\nUsage:  ${usageBlock(path, spec)}\n\nRun '${path} --help' for more information`,
    125,
  );
}

function plural(n: number): string {
  return n === 1 ? "argument" : "arguments";
}

/** The argument-count checks of cli/required.go, with their wording (exit 1). */
export function checkArgs(path: string, spec: CommandSpec, args: string[]): void {
  const r = spec.args ?? { exact: 0 };
  const usage = usageBlock(path, spec);
  const fail = (what: string, see = "Run") =>
    new StatusError(
      `docker: '${path}' ${what}\n\nUsage:  ${usage}\n\n${see} '${path} --help' for more information`,
      1,
    );
  if (r.exact !== undefined) {
    if (args.length === r.exact) return;
    if (r.exact === 0) throw fail("accepts no arguments");
    throw fail(`requires ${r.exact} ${plural(r.exact)}`);
  }
  if (r.min !== undefined && r.max !== undefined) {
    if (args.length < r.min || args.length > r.max) {
      throw fail(`requires at least ${r.min} and at most ${r.max} ${plural(r.max)}`);
    }
    return;
  }
  if (r.min !== undefined && args.length < r.min) {
    throw fail(`requires at least ${r.min} ${plural(r.min)}`, "See");
  }
  // "SRun": the Docker CLI's own message has this typo (cli/required.go RequiresMaxArgs).
  if (r.max !== undefined && args.length > r.max) {
    throw fail(`requires at most ${r.max} ${plural(r.max)}`, "SRun");
  }
}

/** Parses a command's flags, mapping flag errors to the CLI's message. */
export function parseCommand(path: string, spec: CommandSpec, argv: string[]): Parsed {
  try {
    return parseFlags(spec.flags, argv, { interspersed: spec.interspersed });
  } catch (e) {
    if (e instanceof FlagError) throw flagError(path, spec, e.message);
    throw e;
  }
}

/** Help width: the terminal's columns (less one), 80 when not a terminal. */
export function helpWidth(): number {
  try {
    if (Deno.stdout.isTerminal()) return Deno.consoleSize().columns - 1;
  } catch { /* not a terminal */ }
  return 79;
}

/** `docker COMMAND --help`. */
export function helpText(path: string, spec: CommandSpec): string {
  let s = `Usage:  ${usageBlock(path, spec)}\n\n${spec.long ?? spec.short}\n`;
  if (spec.aliases?.length) s += `\nAliases:\n  ${spec.aliases.join(", ")}\n`;
  const flags = [...spec.flags];
  // --help is listed only where -h means something else (run/create: --hostname).
  if (flags.some((f) => f.short === "h")) {
    flags.push({ name: "help", type: "bool", usage: "Print usage" });
  }
  if (flags.some((f) => !f.hidden)) s += `\nOptions:\n${flagUsages(flags, helpWidth())}`;
  return s.replace(/\n$/, "") + "\n";
}

/**
 * Command-line flags in runc's style: `--name value`, `--name=value`, `-n
 * value`, boolean flags, repeatable flags, and positionals anywhere (flags
 * after `--` are positionals).
 */

export type FlagType = "string" | "boolean" | "strings";

export interface FlagSpec {
  type: FlagType;
  /** One-letter alias. */
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean
    : S[K]["type"] extends "strings" ? string[]
    : string;
};

export class UsageError extends Error {}

export function parseFlags<S extends FlagSpecs>(
  args: string[],
  specs: S,
  opts: { stopAtFirstPositional?: boolean } = {},
): { flags: ParsedFlags<S>; positionals: string[] } {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      if (opts.stopAtFirstPositional) {
        positionals.push(...args.slice(i + 1));
        break;
      }
      continue;
    }
    // Go's flag package also takes a single dash for long names.
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    if (!(name in specs) && byShort.has(name)) name = byShort.get(name)!;
    const spec = specs[name];
    if (!spec) throw new UsageError(`flag provided but not defined: -${body.split("=")[0]}`);
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === "boolean") {
      flags[name] = value === undefined ? true : !["false", "0"].includes(value);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = args[++i];
    }
    if (spec.type === "strings") ((flags[name] ??= []) as string[]).push(value);
    else flags[name] = value;
  }
  return { flags: flags as ParsedFlags<S>, positionals };
}

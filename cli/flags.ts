/**
 * Command-line flags as the Docker CLI parses them (spf13/pflag): long
 * `--name[=value]`, short `-n value` / `-nvalue` / grouped `-ai`, `--` to end
 * flags, and optionally flags only before the first argument (`docker run
 * IMAGE CMD -x` leaves `-x` to the command). Errors carry pflag's wording;
 * help is laid out as pflag's FlagUsagesWrapped does.
 */
import { parseBytes } from "./units.ts";

export type FlagType =
  | "bool"
  | "string"
  | "int"
  | "uint"
  | "float"
  | "list"
  | "bytes"
  | "duration";

export interface FlagDef {
  name: string;
  short?: string;
  type: FlagType;
  usage: string;
  /** The type name shown in help (pflag's varname): "list", "filter", "bytes", ... */
  varname?: string;
  default?: unknown;
  /** Shown as "(default ...)" in help; derived from `default` if absent. */
  defaultText?: string;
  hidden?: boolean;
  /** Only for daemons of this OS type: hidden from help when the daemon says otherwise. */
  osType?: "windows";
  /** The API version the flag needs: hidden from help on older daemons. */
  minApi?: string;
  /** Only for experimental daemons. */
  experimental?: boolean;
  /** Checks each value as it is set (pflag's Value.Set); its error becomes a flag error. */
  validate?: (raw: string) => void;
}

export type FlagValues = Record<string, unknown>;

export interface Parsed {
  /** Values by flag name (defaults included). */
  values: FlagValues;
  /** Names of the flags given on the command line. */
  changed: Set<string>;
  args: string[];
  help: boolean;
}

/** A flag error: pflag's message; the caller adds the usage lines. */
export class FlagError extends Error {}

function zero(type: FlagType): unknown {
  switch (type) {
    case "bool":
      return false;
    case "string":
      return "";
    case "list":
      return [];
    default:
      return 0;
  }
}

function flagTitle(f: FlagDef): string {
  return f.short ? `-${f.short}, --${f.name}` : `--${f.name}`;
}

const GO_INT = /^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;

/** Go's duration syntax: "300ms", "1.5h", "2h45m"; returns milliseconds. */
export function parseGoDuration(s: string): number {
  if (s === "0") return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let sign = 1, i = 0, total = 0;
  if (s[0] === "-" || s[0] === "+") {
    sign = s[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) throw new Error(`time: invalid duration "${s}"`);
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) {
      if (/^[0-9.]+$/.test(s.slice(i))) throw new Error(`time: missing unit in duration "${s}"`);
      throw new Error(`time: invalid duration "${s}"`);
    }
    total += Number(m[1]) * unit[m[2]];
    i = re.lastIndex;
  }
  return sign * total;
}

function parseValue(f: FlagDef, raw: string): unknown {
  switch (f.type) {
    case "bool":
      if (/^(1|t|T|true|TRUE|True)$/.test(raw)) return true;
      if (/^(0|f|F|false|FALSE|False)$/.test(raw)) return false;
      throw new Error(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
    case "int":
    case "uint": {
      if (!GO_INT.test(raw) || (f.type === "uint" && raw.startsWith("-"))) {
        throw new Error(
          `strconv.Parse${f.type === "int" ? "Int" : "Uint"}: parsing "${raw}": invalid syntax`,
        );
      }
      const n = Number(raw.replace(/^([+-]?)0[oO]?([0-7]+)$/, (_, s, d) => `${s}0o${d}`));
      if (Number.isNaN(n)) throw new Error(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
      return n;
    }
    case "float": {
      const n = Number(raw);
      if (raw.trim() === "" || Number.isNaN(n)) {
        throw new Error(`strconv.ParseFloat: parsing "${raw}": invalid syntax`);
      }
      return n;
    }
    case "bytes":
      return parseBytes(raw);
    case "duration":
      return parseGoDuration(raw);
    default:
      return raw;
  }
}

/** Parses `argv` against `defs`. `interspersed: false` stops at the first argument. */
export function parseFlags(
  defs: FlagDef[],
  argv: string[],
  opts: { interspersed?: boolean } = {},
): Parsed {
  const interspersed = opts.interspersed ?? true;
  const byName = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const d of defs) {
    byName.set(d.name, d);
    if (d.short) byShort.set(d.short, d);
  }
  // --help is every command's flag (-h too, unless the command uses -h itself).
  const helpDef: FlagDef = { name: "help", type: "bool", usage: "Print usage" };
  if (!byName.has("help")) byName.set("help", helpDef);
  if (!byShort.has("h")) byShort.set("h", helpDef);

  const values: FlagValues = {};
  for (const d of defs) {
    values[d.name] = d.default !== undefined
      ? (Array.isArray(d.default) ? [...d.default] : d.default)
      : zero(d.type);
  }
  const changed = new Set<string>();
  const args: string[] = [];
  let help = false;

  const set = (f: FlagDef, raw: string) => {
    if (f === helpDef) {
      help = parseValue(f, raw) as boolean;
      return;
    }
    let v: unknown;
    try {
      f.validate?.(raw);
      v = parseValue(f, raw);
    } catch (e) {
      throw new FlagError(
        `invalid argument "${raw}" for "${flagTitle(f)}" flag: ${(e as Error).message}`,
      );
    }
    if (f.type === "list") {
      // A list's default is replaced by the first value given.
      const cur = changed.has(f.name) ? values[f.name] as string[] : [];
      values[f.name] = [...cur, v as string];
    } else {
      values[f.name] = v;
    }
    changed.add(f.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const f = byName.get(name);
      if (!f) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(f, a.slice(eq + 1));
      else if (f.type === "bool") set(f, "true");
      else if (i + 1 < argv.length) set(f, argv[++i]);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    // Short flags, possibly grouped: -ai, -n5, -n 5, -n=5.
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const f = byShort.get(c);
      if (!f) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
      const rest = a.slice(j + 1);
      if (rest.startsWith("=")) {
        set(f, rest.slice(1));
        break;
      }
      if (f.type === "bool") {
        set(f, "true");
        continue;
      }
      if (rest) set(f, rest);
      else if (i + 1 < argv.length) set(f, argv[++i]);
      else throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
      break;
    }
  }
  return { values, changed, args, help };
}

// ---- help ----

function defaultText(f: FlagDef): string | undefined {
  if (f.defaultText !== undefined) return f.defaultText || undefined;
  const d = f.default;
  if (d === undefined || d === zero(f.type)) return undefined;
  if (Array.isArray(d)) return d.length ? `[${d.join(",")}]` : undefined;
  if (f.type === "string") return JSON.stringify(d);
  return String(d);
}

/** pflag's wrapN: the first up to `i` characters, breaking at whitespace. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ""];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(" "), head.lastIndexOf("\t"), head.lastIndexOf("\n"));
  if (w <= 0) return [s, ""];
  const nl = head.lastIndexOf("\n");
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: `s` to width `w`, continuation lines indented by `i`. */
function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.replaceAll("\n", "\n" + " ".repeat(i));
  let width = w - i;
  let r = "";
  if (width < 24) {
    i = 16;
    width = w - i;
    r += "\n" + " ".repeat(i);
  }
  if (width < 24) return s.replaceAll("\n", r);
  const slop = 5;
  width -= slop;
  let l: string;
  [l, s] = wrapN(width, slop, s);
  r += l.replaceAll("\n", "\n" + " ".repeat(i));
  while (s !== "") {
    let t: string;
    [t, s] = wrapN(width, slop, s);
    r += "\n" + " ".repeat(i) + t.replaceAll("\n", "\n" + " ".repeat(i));
  }
  return r;
}

/** The "Options:" block of help, as pflag lays it out for `cols` columns. */
export function flagUsages(defs: FlagDef[], cols = 79): string {
  const shown = defs.filter((d) => !d.hidden).sort((a, b) => a.name < b.name ? -1 : 1);
  const lines: string[] = [];
  let maxlen = 0;
  for (const f of shown) {
    let line = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
    const varname = f.type === "bool" ? "" : (f.varname ?? f.type);
    if (varname) line += " " + varname;
    line += "\0";
    maxlen = Math.max(maxlen, line.length);
    line += f.usage;
    const d = defaultText(f);
    if (d !== undefined) line += ` (default ${d})`;
    lines.push(line);
  }
  return lines.map((line) => {
    const sidx = line.indexOf("\0");
    return `${line.slice(0, sidx)} ${" ".repeat(maxlen - sidx)} ${
      wrap(maxlen + 2, cols, line.slice(sidx + 1))
    }\n`;
  }).join("");
}

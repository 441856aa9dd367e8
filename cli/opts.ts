/**
 * Flag definitions several commands share, with the Docker CLI's wording.
 */
import type { FlagDef } from "./flags.ts";

const FORMAT_REF = "Refer to https://docs.docker.com/go/formatting/ for more information " +
  "about formatting output with templates";

/** --format of listing commands (ps, images, stats, system df). */
export const FORMAT_TABLE: FlagDef = {
  name: "format",
  type: "string",
  usage: "Format output using a custom template:\n" +
    "'table':            Print output in table format with column headers (default)\n" +
    "'table TEMPLATE':   Print output in table format using the given Go template\n" +
    "'json':             Print in JSON format\n" +
    "'TEMPLATE':         Print output using the given Go template.\n" + FORMAT_REF,
};

/** --format of one-object commands (version, info, inspect, events). */
export function formatObject(short?: string): FlagDef {
  return {
    name: "format",
    short,
    type: "string",
    usage: "Format output using a custom template:\n" +
      "'json':             Print in JSON format\n" +
      "'TEMPLATE':         Print output using the given Go template.\n" + FORMAT_REF,
  };
}

export const FILTER: FlagDef = {
  name: "filter",
  short: "f",
  type: "list",
  varname: "filter",
  usage: "Filter output based on conditions provided",
  validate: (raw) => {
    if (!raw.includes("=")) throw new Error("bad format of filter (expected name=value)");
  },
};

export const DETACH_KEYS: FlagDef = {
  name: "detach-keys",
  type: "string",
  usage: "Override the key sequence for detaching a container",
};

/** --filter values ("key=value") as the API's filters JSON ({"key": {"value": true}}). */
export function filtersJson(filters: string[]): string | undefined {
  if (!filters.length) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const f of filters) {
    const i = f.indexOf("=");
    if (i < 0) throw new Error(`bad format of filter (expected name=value)`);
    const k = f.slice(0, i).trim().toLowerCase();
    const v = f.slice(i + 1).trim();
    (out[k] ??= {})[v] = true;
  }
  // Go marshals maps with their keys sorted.
  const sorted = Object.fromEntries(
    Object.keys(out).sort().map((k) => [
      k,
      Object.fromEntries(Object.keys(out[k]).sort().map((x) => [x, true])),
    ]),
  );
  return JSON.stringify(sorted);
}

/**
 * Query parameters as dockerd reads them: booleans (httputils.BoolValue)
 * and the `filters` JSON (filters.FromJSON).
 */
import { badRequest } from "./errors.ts";

/** Docker's filters: key → values. */
export type Filters = Record<string, string[]>;

/** False for an absent value and for "", "0", "no", "false", "none"; true otherwise. */
export function boolValue(v: string | undefined, fallback = false): boolean {
  if (v === undefined) return fallback;
  return !["", "0", "no", "false", "none"].includes(v.trim().toLowerCase());
}

/**
 * `{"key": {"value": true}}` (what clients send) or the older
 * `{"key": ["value"]}`; anything else is dockerd's 400 "invalid filter".
 */
export function parseFilters(raw: string | undefined): Filters {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest("invalid filter");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest("invalid filter");
  }
  const out: Filters = {};
  for (const [key, v] of Object.entries(parsed)) {
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) out[key] = v;
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      if (!Object.values(v).every((x) => typeof x === "boolean")) {
        throw badRequest("invalid filter");
      }
      out[key] = Object.keys(v).filter((k) => (v as Record<string, boolean>)[k]);
    } else throw badRequest("invalid filter");
  }
  return out;
}

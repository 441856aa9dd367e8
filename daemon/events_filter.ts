/**
 * Which events a `GET /events?filters=` subscriber gets, as dockerd's
 * daemon/events/filter.go decides: every filter key must match (values of
 * one key are alternatives). Unknown keys are ignored, as in dockerd.
 *
 * - `type`, `scope`: exact; `event`: exact, or a prefix for exec_create,
 *   exec_start and health_status (their actions carry the command);
 * - `container`, `daemon`, `network`, `volume`, `plugin`: an id or name
 *   prefix of the actor (whatever its type, as in dockerd);
 * - `image`: the image's id or name (or a container's image), with or
 *   without its tag;
 * - `label`: every `key` or `key=value` among the actor's attributes.
 */
import type { EngineEvent } from "./events.ts";
import { familiarName, parseNormalized } from "./images/reference.ts";

export type EventFilters = Record<string, string[]>;

const PREFIX_ACTIONS = ["exec_create", "exec_start", "health_status"];
const NAMED_TYPES = ["container", "daemon", "network", "volume", "plugin"];

/** filters.Args.ExactMatch: no values for the key match everything. */
function exact(f: EventFilters, key: string, value: string): boolean {
  const want = f[key];
  return !want?.length || want.includes(value);
}

/** filters.Args.FuzzyMatch: a value or a prefix of it. */
function fuzzy(f: EventFilters, key: string, value: string): boolean {
  const want = f[key];
  return !want?.length || want.some((w) => value === w || value.startsWith(w));
}

/** A reference without its tag or digest ("busybox:1" → "busybox"); other strings as they are. */
function stripTag(image: string): string {
  try {
    return familiarName(parseNormalized(image));
  } catch {
    return image;
  }
}

/** filters.Args.MatchKVList: every `key[=value]` wanted is among the attributes. */
export function matchKVList(
  wanted: string[] | undefined,
  attributes: Record<string, string>,
): boolean {
  if (!wanted?.length) return true;
  return wanted.every((w) => {
    const i = w.indexOf("=");
    const key = i === -1 ? w : w.slice(0, i);
    if (!(key in attributes)) return false;
    return i === -1 || attributes[key] === w.slice(i + 1);
  });
}

export function eventMatches(e: EngineEvent, f: EventFilters): boolean {
  const action = (f.event ?? []).some((v) => PREFIX_ACTIONS.includes(v))
    ? fuzzy(f, "event", e.Action)
    : exact(f, "event", e.Action);
  if (!action || !exact(f, "type", e.Type) || !exact(f, "scope", e.scope)) return false;
  const attrs = e.Actor.Attributes;
  for (const t of NAMED_TYPES) {
    if (!f[t]?.length) continue;
    if (!fuzzy(f, t, e.Actor.ID) && !fuzzy(f, t, attrs.name ?? "")) return false;
  }
  if (f.image?.length) {
    const name = (e.Type === "image" ? attrs.name : attrs.image) ?? "";
    const id = e.Actor.ID;
    if (![id, name, stripTag(id), stripTag(name)].some((v) => f.image.includes(v))) return false;
  }
  return matchKVList(f.label, attrs);
}

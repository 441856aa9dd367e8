/**
 * `GET /events`: the engine's events as JSON lines, as dockerd's
 * getEvents: with `since` or `until`, the kept events in that window come
 * first; an `until` in the past ends the answer there, one in the future
 * ends it at that time; otherwise it streams until the client leaves.
 *
 * Times are unix seconds with an optional fraction (what clients send);
 * berth also takes RFC 3339 times and durations back from now.
 */
import type { App } from "../app.ts";
import { badRequest } from "../errors.ts";
import { parseFilters } from "../query.ts";
import { getTimestamp, parseUnixTimestamp } from "../timestamps.ts";
import type { EngineEvent } from "../../events.ts";
import { eventMatches } from "../../events_filter.ts";

/** Nanoseconds since the epoch (as a double, like the events' own timeNano). */
function eventTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const unix = /^[+-]?\d+(\.\d*)?$/.test(value) ? value : lenient(value);
  return Number(parseUnixTimestamp(unix));
}

/** RFC 3339 or a duration; anything else fails as dockerd's strconv does. */
function lenient(value: string): string {
  try {
    return getTimestamp(value);
  } catch {
    return value;
  }
}

/** events.Message with Go's field order and sorted attributes. */
export function eventJson(e: EngineEvent): string {
  const attrs = e.Actor.Attributes;
  const sorted = Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
  return JSON.stringify({
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.id ? { id: e.id } : {}),
    ...(e.from ? { from: e.from } : {}),
    Type: e.Type,
    Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: sorted },
    scope: e.scope,
    time: e.time,
    timeNano: e.timeNano,
  }) + "\n";
}

export function eventRoutes(app: App): void {
  app.get("/events", (c) => {
    const engine = c.get("engine");
    const sinceRaw = c.req.query("since"), untilRaw = c.req.query("until");
    const since = eventTime(sinceRaw);
    const until = eventTime(untilRaw);
    if (until !== undefined && since !== undefined && until < since) {
      throw badRequest(
        `\`since\` time (${sinceRaw}) cannot be after \`until\` time (${untilRaw})`,
      );
    }
    const filters = parseFilters(c.req.query("filters"));
    const match = (e: EngineEvent) => eventMatches(e, filters);
    const nowNs = Date.now() * 1e6;
    const onlyPast = until !== undefined && until < nowNs;

    const enc = new TextEncoder();
    const signal = c.req.raw.signal;
    let finish = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        const send = (e: EngineEvent) => ctl.enqueue(enc.encode(eventJson(e)));
        if (since !== undefined || until !== undefined) {
          for (const e of engine.events.recent(since ?? 0)) {
            if ((until === undefined || e.timeNano <= until) && match(e)) send(e);
          }
        }
        if (onlyPast) {
          ctl.close();
          return;
        }
        const unsubscribe = engine.events.subscribe((e) => {
          if (match(e)) send(e);
        });
        const timer = until === undefined
          ? undefined
          : setTimeout(() => finish(), (until - nowNs) / 1e6);
        let done = false;
        finish = () => {
          if (done) return;
          done = true;
          unsubscribe();
          clearTimeout(timer);
          signal.removeEventListener("abort", finish);
          try {
            ctl.close();
          } catch { /* already cancelled */ }
        };
        signal.addEventListener("abort", finish, { once: true });
      },
      cancel: () => finish(),
    });
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
  });
}

/**
 * `docker events`: GET /events (streamed until --until or an interrupt),
 * one line per event: time, type, action, actor and its sorted attributes.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { FILTER, filtersJson, formatObject } from "../opts.ts";
import { objectTemplate, runObject } from "../format.ts";
import { parseTimestamp } from "../units.ts";
import { StatusError } from "../errors.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Get real time events from the server",
  aliases: ["docker system events", "docker events"],
  flags: [
    FILTER,
    formatObject(),
    { name: "since", type: "string", usage: "Show all events created since timestamp" },
    { name: "until", type: "string", usage: "Stream events until this timestamp" },
  ],
  args: { exact: 0 },
};

export interface EventMessage {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
  timeNano?: number;
  [k: string]: unknown;
}

/** An event as the template sees it: Go's events.Message (zero values, Go field names). */
class EventView {
  readonly goType = "events.Message";
  Status: string;
  ID: string;
  From: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  Scope: string;
  Time: number;
  TimeNano: number;
  constructor(private raw: EventMessage, private rawNano?: string) {
    this.Status = (raw.status as string) ?? "";
    this.ID = (raw.id as string) ?? "";
    this.From = (raw.from as string) ?? "";
    this.Type = raw.Type ?? "";
    this.Action = raw.Action ?? "";
    this.Actor = { ID: raw.Actor?.ID ?? "", Attributes: raw.Actor?.Attributes ?? {} };
    this.Scope = raw.scope ?? "";
    this.Time = raw.time ?? 0;
    this.TimeNano = raw.timeNano ?? 0;
  }
  /** Go's marshalling of the struct: omitempty fields left out, attributes sorted, exact nanoseconds. */
  goJson(): string {
    const o: Record<string, unknown> = {};
    if (this.Status) o.status = this.Status;
    if (this.ID) o.id = this.ID;
    if (this.From) o.from = this.From;
    o.Type = this.Type;
    o.Action = this.Action;
    const attrs = this.Actor.Attributes;
    o.Actor = {
      ID: this.Actor.ID,
      Attributes: Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]])),
    };
    o.scope = this.Scope;
    if (this.Time) o.time = this.Time;
    if (this.TimeNano) o.timeNano = "\0nanos";
    return JSON.stringify(o).replace('"\\u0000nanos"', this.rawNano ?? String(this.TimeNano));
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** jsonmessage.RFC3339NanoFixed in local time: 2006-01-02T15:04:05.000000000Z07:00. */
export function rfc3339NanoFixed(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const d = new Date(ms);
  const frac = String(nanos % 1_000_000_000n).padStart(9, "0");
  const off = -d.getTimezoneOffset();
  const zone = off === 0
    ? "Z"
    : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac}${zone}`;
}

/** The CLI's prettyPrintEvent. */
export function prettyEvent(e: EventMessage, rawTimeNano?: string): string {
  let s = "";
  if (e.timeNano) s += rfc3339NanoFixed(BigInt(rawTimeNano ?? Math.round(e.timeNano))) + " ";
  else if (e.time) s += rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n) + " ";
  s += `${e.Type ?? ""} ${e.Action ?? ""} ${e.Actor?.ID ?? ""}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(", ")})`;
  return s + "\n";
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const format = v.format as string;
  const tmpl = format ? objectTemplate(format) : undefined;
  const now = Date.now();
  let since: string | undefined, until: string | undefined;
  try {
    since = v.since ? parseTimestamp(v.since as string, now) : undefined;
    until = v.until ? parseTimestamp(v.until as string, now) : undefined;
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
  const res = await cli.client.request("GET", "/events", {
    query: { since, until, filters: filtersJson(v.filter as string[]) },
  });
  for await (const line of res.lines()) {
    const e = JSON.parse(line) as EventMessage;
    // timeNano exceeds a double's precision: read it from the text itself.
    const raw = /"timeNano":\s*(\d+)/.exec(line)?.[1];
    if (tmpl) cli.out(runObject(tmpl, new EventView(e, raw)) + "\n");
    else cli.out(prettyEvent(e, raw));
  }
  return 0;
}

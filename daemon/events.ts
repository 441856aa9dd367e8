/**
 * dockerd's event bus: what `GET /events` streams. Every subsystem publishes
 * (container create/start/die..., image pull/tag/delete..., volume and
 * network later); subscribers get live events, and the last events are kept
 * for `since` (Docker keeps 256).
 */

/** One event as the Engine API sends it (events.Message). */
export interface EngineEvent {
  Type: "container" | "image" | "volume" | "network" | "daemon" | "plugin" | "builder";
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
  /** Deprecated fields older clients still read (containers and images only). */
  status?: string;
  id?: string;
  from?: string;
}

export type EventInput = {
  type: EngineEvent["Type"];
  action: string;
  id: string;
  attributes?: Record<string, string>;
};

const KEPT = 256;

export class EventBus {
  readonly #recent: EngineEvent[] = [];
  readonly #subscribers = new Set<(e: EngineEvent) => void>();

  get listeners(): number {
    return this.#subscribers.size;
  }

  publish(input: EventInput): EngineEvent {
    const nowMs = Date.now();
    // Nanoseconds from the millisecond clock; events in the same millisecond
    // are a microsecond apart so that they keep their order (a double holds
    // today's nanosecond times to 256 ns, so steps of 1 ns would be lost).
    const last = this.#recent.at(-1)?.timeNano ?? 0;
    const timeNano = Math.max(nowMs * 1e6, last + 1000);
    const attributes = input.attributes ?? {};
    const e: EngineEvent = {
      Type: input.type,
      Action: input.action,
      Actor: { ID: input.id, Attributes: attributes },
      scope: "local",
      time: Math.floor(timeNano / 1e9),
      timeNano,
    };
    if (input.type === "container" || input.type === "image") {
      e.status = input.action;
      if (input.id) e.id = input.id; // prune events have no actor
      if (attributes.image) e.from = attributes.image;
    }
    this.#recent.push(e);
    if (this.#recent.length > KEPT) this.#recent.shift();
    for (const s of this.#subscribers) s(e);
    return e;
  }

  /** Kept events at or after `sinceNano`. */
  recent(sinceNano: number): EngineEvent[] {
    return this.#recent.filter((e) => e.timeNano >= sinceNano);
  }

  /** Live events until the returned function is called. */
  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}

/** A container's event: its labels, image and name as attributes (as dockerd's LogContainerEvent). */
export function containerEvent(
  rec: {
    Id: string;
    Name: string;
    Config: { Image?: string; Labels?: Record<string, string> | null };
  },
  action: string,
  extra: Record<string, string> = {},
): EventInput {
  return {
    type: "container",
    action,
    id: rec.Id,
    attributes: {
      ...(rec.Config.Labels ?? {}),
      image: rec.Config.Image ?? "",
      name: rec.Name.slice(1),
      ...extra,
    },
  };
}

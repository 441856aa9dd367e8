/**
 * The event exchange (containerd's events/exchange): services publish into
 * it, Events.Subscribe streams out of it. An event travels as an Envelope
 * whose `event` is a google.protobuf.Any holding the protobuf-encoded
 * message, with type_url the message's full name, as containerd's typeurl
 * writes it for its event types.
 */
import type { Any, Publisher } from "./context.ts";
import { type Adaptor, type Filter, objectAdaptor } from "./filters.ts";
import type { Logger } from "./log.ts";
import { decodeAny, encodeAny } from "./proto.ts";
import { now, type Timestamp } from "./timestamp.ts";

/** containerd.services.events.v1.Envelope. */
export interface EnvelopeMsg {
  timestamp: Timestamp;
  namespace: string;
  topic: string;
  event: Any | null;
}

type Listener = (env: EnvelopeMsg) => void;

interface Subscription {
  filter: Filter;
  listener: Listener;
}

/** containerd's Envelope.Field: namespace, topic and event.<field of the decoded event>. */
function envelopeAdaptor(env: EnvelopeMsg, fields?: Record<string, unknown>): Adaptor {
  let event: Adaptor | undefined;
  return (path) => {
    switch (path[0]) {
      case "namespace":
        return [env.namespace, env.namespace.length > 0];
      case "topic":
        return [env.topic, env.topic.length > 0];
      case "event": {
        event ??= objectAdaptor(fields ?? decodeAny(env.event));
        return path.length > 1 ? event(path.slice(1)) : ["", false];
      }
    }
    return ["", false];
  };
}

export class Exchange implements Publisher {
  private readonly subs = new Set<Subscription>();

  constructor(private readonly log?: Logger) {}

  /** Publisher: encodes `event` as the protobuf message `type` and sends it out. */
  publish(namespace: string, topic: string, type: string, event: Record<string, unknown>): void {
    let any: Any;
    try {
      any = encodeAny(type, event);
    } catch (e) {
      this.log?.error(`events: cannot encode ${type} for ${topic}: ${(e as Error).message}`);
      return;
    }
    this.dispatch({ timestamp: now(), namespace, topic, event: any }, event);
  }

  /** An event already encoded (Events.Publish). */
  publishAny(namespace: string, topic: string, event: Any | null): void {
    this.dispatch({ timestamp: now(), namespace, topic, event });
  }

  /** An envelope stamped elsewhere (Events.Forward), kept as it is. */
  forward(env: EnvelopeMsg): void {
    this.dispatch(env);
  }

  /** Calls `listener` with every envelope matching `filter` until the returned function is called. */
  subscribe(filter: Filter, listener: Listener): () => void {
    const sub = { filter, listener };
    this.subs.add(sub);
    return () => this.subs.delete(sub);
  }

  private dispatch(env: EnvelopeMsg, fields?: Record<string, unknown>): void {
    this.log?.debug(`event published ns=${env.namespace} topic=${env.topic}`);
    const adaptor = envelopeAdaptor(env, fields);
    for (const s of this.subs) {
      try {
        if (s.filter(adaptor)) s.listener(env);
      } catch (e) {
        this.log?.warn(`events: subscriber failed: ${(e as Error).message}`);
      }
    }
  }
}

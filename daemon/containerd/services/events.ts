/**
 * containerd.services.events.v1.Events: Publish (in the caller's
 * namespace), Forward (an envelope as it is) and Subscribe (every
 * namespace, narrowed by containerd filters such as `topic=="/tasks/exit"`,
 * `namespace==default`, `event.container_id==web`).
 */
import type grpc from "@grpc/grpc-js";
import { type Any, Code, type DaemonContext, invalidArgument } from "../context.ts";
import type { EnvelopeMsg, Exchange } from "../events.ts";
import { parseFilters } from "../filters.ts";
import { validateIdentifier } from "../identifiers.ts";
import type { Handlers } from "../server.ts";

/** Envelopes a subscriber may leave unread (the stream is in object mode). */
const MAX_BACKLOG = 10_000;

/** containerd's validateTopic: "/" then identifiers separated by "/". */
function validateTopic(topic: string): void {
  const bad = (msg: string) => invalidArgument(`envelope topic ${JSON.stringify(topic)}: ${msg}`);
  if (topic === "") throw bad("must not be empty: invalid argument");
  if (topic[0] !== "/") throw bad("must start with '/': invalid argument");
  if (topic.length === 1) throw bad("must have at least one component: invalid argument");
  for (const c of topic.slice(1).split("/")) {
    try {
      validateIdentifier(c);
    } catch (e) {
      throw bad(`failed validation on component ${JSON.stringify(c)}: ${(e as Error).message}`);
    }
  }
}

export function eventsService(ctx: DaemonContext & { events: Exchange }): Handlers {
  const ex = ctx.events;
  return {
    Publish: (ns: string, req: { topic: string; event: Any | null }) => {
      validateTopic(req.topic);
      ex.publishAny(ns, req.topic, req.event);
      return Promise.resolve({});
    },

    Forward: (_ns: string, req: { envelope: EnvelopeMsg | null }) => {
      const env = req.envelope;
      if (!env) throw invalidArgument("envelope must be set: invalid argument");
      try {
        validateIdentifier(env.namespace);
      } catch (e) {
        throw invalidArgument(`event envelope has invalid namespace: ${(e as Error).message}`);
      }
      validateTopic(env.topic);
      if (!env.timestamp || (!env.timestamp.seconds && !env.timestamp.nanos)) {
        throw invalidArgument("timestamp must be set on forwarded event: invalid argument");
      }
      ex.forward(env);
      return Promise.resolve({});
    },

    Subscribe: (
      _ns: string,
      req: { filters: string[] },
      call: grpc.ServerWritableStream<unknown, unknown>,
    ) => {
      const filter = parseFilters(req.filters);
      return new Promise<void>((resolve) => {
        // A subscriber that stops reading is cut off rather than buffered without bound.
        const stop = ex.subscribe(filter, (env) => {
          if (call.writableLength > MAX_BACKLOG) {
            done();
            call.emit("error", {
              code: Code.RESOURCE_EXHAUSTED,
              details: "event subscriber too slow: too many events pending",
            });
            return;
          }
          call.write(env);
        });
        const done = () => {
          stop();
          resolve();
        };
        if (call.cancelled) return done();
        call.on("cancelled", done);
        call.on("close", done);
        call.on("error", done);
      });
    },
  };
}

/** Events methods that work without a namespace (Forward's envelope carries one). */
export const EVENTS_NO_NAMESPACE = ["Forward", "Subscribe"];

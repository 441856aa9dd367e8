/**
 * The gRPC server: binds service modules to containerd's service definitions.
 *
 * How a service plugs in (services/*.ts):
 *
 *   export function fooService(ctx: DaemonContext): Handlers
 *
 * returns handlers keyed by RPC name (as in the .proto, e.g. "Create"):
 *
 *   - unary:  `(ns, request, call) => Promise<response>`
 *   - server streaming: `(ns, request, call) => Promise<void>`; writes with
 *     `call.write(message)` and resolves when the stream is done (the server
 *     then ends it).
 *
 * `ns` is the call's namespace, from the `containerd-namespace` metadata,
 * validated as containerd does; a call without one is refused with
 * FAILED_PRECONDITION "namespace is required" before the handler runs,
 * except for the methods a registration lists in `noNamespace` (they get ""
 * or whatever the caller sent). Requests and responses are plain objects with
 * the .proto's snake_case field names, Timestamps as {seconds, nanos}, Anys
 * as {type_url, value}, enums as their names.
 *
 * A handler throws (or rejects with) a ContainerdError for a gRPC status with
 * that code and message; any other error becomes UNKNOWN with its message.
 * Methods without a handler answer UNIMPLEMENTED.
 *
 * The Tasks service is `tasksService(ctx)` from services/tasks.ts, with every
 * method requiring a namespace.
 */
import grpc from "@grpc/grpc-js";
import { Code, ContainerdError, type DaemonContext, NAMESPACE_HEADER } from "./context.ts";
import { validateIdentifier } from "./identifiers.ts";
import { serviceDefinition } from "./proto.ts";

// deno-lint-ignore no-explicit-any
type Msg = any;
export type UnaryHandler = (
  ns: string,
  req: Msg,
  call: grpc.ServerUnaryCall<Msg, Msg>,
) => Promise<unknown>;
export type StreamHandler = (
  ns: string,
  req: Msg,
  call: grpc.ServerWritableStream<Msg, Msg>,
) => Promise<void>;
export type Handler = UnaryHandler | StreamHandler;
export type Handlers = Record<string, Handler>;

export interface Registration {
  /** Full service name, e.g. "containerd.services.containers.v1.Containers". */
  service: string;
  handlers: Handlers;
  /** Methods that do not need a namespace (every other one does). */
  noNamespace?: string[];
}

/** A gRPC status as grpc-js takes it. */
export interface StatusError {
  code: number;
  details: string;
  message: string;
}

export function toStatus(e: unknown): StatusError {
  if (e instanceof ContainerdError) return { code: e.code, details: e.message, message: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: Code.UNKNOWN, details: msg, message: msg };
}

/**
 * The namespace of a call. As containerd: required where the service needs
 * one ("namespace is required: failed precondition"), and validated as an identifier.
 */
export function namespaceOf(md: grpc.Metadata, required: boolean): string {
  const v = md.get(NAMESPACE_HEADER)[0];
  const ns = typeof v === "string" ? v : v ? new TextDecoder().decode(v) : "";
  if (!ns) {
    if (required) {
      throw new ContainerdError(
        Code.FAILED_PRECONDITION,
        "namespace is required: failed precondition",
      );
    }
    return "";
  }
  try {
    validateIdentifier(ns);
  } catch (e) {
    throw new ContainerdError(
      Code.INVALID_ARGUMENT,
      `namespace validation: ${(e as Error).message}`,
    );
  }
  return ns;
}

function unimplemented(service: string, method: string): StatusError {
  const msg = `unknown method ${method} for service ${service}`;
  return { code: Code.UNIMPLEMENTED, details: msg, message: msg };
}

/** grpc-js implementations for one registration: every method of the service definition. */
function implement(
  reg: Registration,
  debug: (msg: string) => void,
): grpc.UntypedServiceImplementation {
  const def = serviceDefinition(reg.service);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, m] of Object.entries(def)) {
    const fn = reg.handlers[method];
    const needsNs = !reg.noNamespace?.includes(method);
    const name = `${reg.service}/${method}`;
    if (m.responseStream) {
      impl[method] = (call: grpc.ServerWritableStream<Msg, Msg>) => {
        const fail = (s: StatusError) => call.emit("error", Object.assign(new Error(s.message), s));
        if (!fn) return fail(unimplemented(reg.service, method));
        let ns: string;
        try {
          ns = namespaceOf(call.metadata, needsNs);
        } catch (e) {
          return fail(toStatus(e));
        }
        debug(`stream ${name} ns=${ns}`);
        let p: Promise<void>;
        try {
          p = (fn as StreamHandler)(ns, call.request, call);
        } catch (e) {
          return fail(toStatus(e));
        }
        p.then(() => call.end(), (e) => fail(toStatus(e)));
      };
    } else {
      impl[method] = (
        call: grpc.ServerUnaryCall<Msg, Msg>,
        cb: grpc.sendUnaryData<Msg>,
      ) => {
        if (!fn) return cb(unimplemented(reg.service, method));
        let ns: string;
        try {
          ns = namespaceOf(call.metadata, needsNs);
        } catch (e) {
          return cb(toStatus(e));
        }
        debug(`call ${name} ns=${ns}`);
        let p: Promise<unknown>;
        try {
          p = (fn as UnaryHandler)(ns, call.request, call);
        } catch (e) {
          return cb(toStatus(e));
        }
        p.then((r) => cb(null, r ?? {}), (e) => {
          const s = toStatus(e);
          debug(`${name} failed: ${s.message}`);
          cb(s);
        });
      };
    }
  }
  return impl;
}

export function buildServer(
  _ctx: DaemonContext,
  regs: Registration[],
  debug: (msg: string) => void = () => {},
): grpc.Server {
  // Unlimited message sizes as containerd's (16 MiB) would be; specs can be large.
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 16 << 20,
    "grpc.max_send_message_length": 16 << 20,
  });
  for (const reg of regs) server.addService(serviceDefinition(reg.service), implement(reg, debug));
  return server;
}

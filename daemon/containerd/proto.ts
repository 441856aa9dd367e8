/**
 * containerd's API protos, loaded once with @grpc/proto-loader: the service
 * definitions the gRPC server binds, and the event messages that travel
 * inside google.protobuf.Any (containerd's typeurl: type_url is the
 * message's full name, e.g. "containerd.events.TaskExit").
 *
 * The directory is found from import.meta.url so that a `deno compile`
 * binary built with `--include daemon` (which embeds daemon/containerd/proto)
 * reads the same files from its embedded file system.
 */
import protoLoader from "@grpc/proto-loader";
import { Buffer } from "node:buffer";
import type { Any } from "./context.ts";

export const PROTO_DIR = decodeURIComponent(new URL("./proto", import.meta.url).pathname);

/** Every file the daemon serves or encodes; imports are found through PROTO_DIR. */
const FILES = [
  "services/version/v1/version.proto",
  "services/introspection/v1/introspection.proto",
  "services/namespaces/v1/namespace.proto",
  "services/containers/v1/containers.proto",
  "services/events/v1/events.proto",
  "services/tasks/v1/tasks.proto",
  "events/container.proto",
  "events/namespace.proto",
  "events/task.proto",
  "events/content.proto",
  "events/image.proto",
  "events/snapshot.proto",
];

/**
 * Longs as JS numbers: every 64-bit field the daemon deals in (timestamps'
 * seconds, sizes, pids) fits in 2^53.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let loaded: protoLoader.PackageDefinition | undefined;

/** The package definition (loaded on first use, ≈ tens of ms). */
export function definitions(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync(FILES, LOADER_OPTIONS);
  return loaded;
}

/** A service definition by full name, e.g. "containerd.services.tasks.v1.Tasks". */
export function serviceDefinition(name: string): protoLoader.ServiceDefinition {
  const def = definitions()[name];
  if (!def || def.format !== undefined) throw new Error(`no service ${name} in the protos`);
  return def as protoLoader.ServiceDefinition;
}

type MessageType = protoLoader.MessageTypeDefinition<object, Record<string, unknown>>;

function messageType(name: string): MessageType | undefined {
  const def = definitions()[name];
  return def?.format === "Protocol Buffer 3 DescriptorProto" ? def as MessageType : undefined;
}

/** True if `name` is a message the daemon can encode and decode. */
export function knowsMessage(name: string): boolean {
  return messageType(name) !== undefined;
}

/** The message name an Any carries ("types.example.com/a.B" → "a.B"). */
export function anyTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/**
 * Encodes `fields` (snake_case, as in the .proto; Timestamps as
 * {seconds, nanos}) as the protobuf message `type`, wrapped in an Any.
 */
export function encodeAny(type: string, fields: Record<string, unknown>): Any {
  const t = messageType(type);
  if (!t) throw new Error(`unknown message type ${type}`);
  return { type_url: type, value: new Uint8Array(t.serialize(fields)) };
}

/** Decodes an Any of a known message type; undefined for anything else (or a corrupt value). */
export function decodeAny(any: Any | null | undefined): Record<string, unknown> | undefined {
  if (!any?.type_url) return undefined;
  const t = messageType(anyTypeName(any.type_url));
  if (!t) return undefined;
  try {
    return t.deserialize(Buffer.from(any.value ?? new Uint8Array())) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

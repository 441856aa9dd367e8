/**
 * What containerd's services share: configuration, the metadata store, the
 * event exchange and the error type that becomes a gRPC status. Each service
 * module (services/*.ts) receives a {@link DaemonContext} and returns its
 * handlers; server.ts binds them to the gRPC service definitions.
 */

/** gRPC status codes (google.rpc.Code) that containerd's errdefs map onto. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type Code = typeof Code[keyof typeof Code];

/**
 * An error with a gRPC code, worded as containerd words it
 * (e.g. `container "x" in namespace "default": not found`).
 */
export class ContainerdError extends Error {
  constructor(readonly code: Code, message: string) {
    super(message);
  }
}

export const notFound = (what: string) => new ContainerdError(Code.NOT_FOUND, `${what}: not found`);
export const alreadyExists = (what: string) =>
  new ContainerdError(Code.ALREADY_EXISTS, `${what}: already exists`);
export const failedPrecondition = (msg: string) =>
  new ContainerdError(Code.FAILED_PRECONDITION, msg);
export const invalidArgument = (msg: string) => new ContainerdError(Code.INVALID_ARGUMENT, msg);

/** The daemon's settings, from flags and the TOML config file. */
export interface Config {
  /** gRPC unix socket. */
  address: string;
  /** Persistent data (metadata). */
  root: string;
  /** Runtime state (bundles, shim directories, runtime root); lost at reboot. */
  state: string;
  /** Owner group of the socket (mode 0660 when set, else 0600 root). */
  gid?: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error";
  /** Containers supervised by one shim process (1: one shim per container). */
  shimGroupSize: number;
}

/** An event as it travels through the exchange (containerd's events.Envelope). */
export interface Envelope {
  /** RFC 3339 with nanoseconds. */
  timestamp: string;
  namespace: string;
  /** e.g. "/tasks/exit". */
  topic: string;
  /** Fully qualified protobuf message name, e.g. "containerd.events.TaskExit". */
  type: string;
  /** The message's fields (proto field names in snake_case), encoded by the exchange. */
  event: Record<string, unknown>;
}

export interface Publisher {
  publish(namespace: string, topic: string, type: string, event: Record<string, unknown>): void;
}

/** google.protobuf.Any as proto-loader gives it. */
export interface Any {
  type_url: string;
  value: Uint8Array;
}

/** containerd.services.containers.v1.Container (field names as in the .proto). */
export interface ContainerMeta {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime?: { name: string; options?: Any };
  /** The OCI spec: type_url "types.containerd.io/opencontainers/runtime-spec/1/Spec", JSON. */
  spec?: Any;
  snapshotter: string;
  snapshot_key: string;
  /** RFC 3339 with nanoseconds. */
  created_at: string;
  updated_at: string;
  extensions: Record<string, Any>;
}

/** The persistent metadata (containers, namespaces) as the task service sees it. */
export interface MetadataStore {
  getContainer(namespace: string, id: string): ContainerMeta | undefined;
}

/** Log lines at a level (containerd's format, on stderr). */
export interface Log {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Given to every service module. */
export interface DaemonContext {
  config: Config;
  events: Publisher;
  metadata: MetadataStore;
  /** The daemon's logger (absent in unit tests that build a context by hand). */
  log?: Log;
}

/**
 * The namespace of a call, from the `containerd-namespace` gRPC metadata as
 * containerd reads it; calls without one are refused (FAILED_PRECONDITION:
 * "namespace is required").
 */
export const NAMESPACE_HEADER = "containerd-namespace";

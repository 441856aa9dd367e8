/**
 * The wire format between a supervisor (berth's containerd) and a shim.
 *
 * A shim is one small process that stays the parent of its containers after
 * the runtime (`runc create`) has exited. It is started by containerd, detaches
 * into its own session and outlives containerd: containerd can be killed and
 * restarted and simply connects again.
 *
 * One shim process may supervise one container (the default) or a group of
 * containers (to save memory); every request therefore names its container.
 *
 * Transport: a unix socket (mode 0600) at `<shim dir>/shim.sock`, carrying
 * JSON lines. The client sends {@link Request}s; the shim answers each with a
 * {@link Response} carrying the same `seq`. After a `subscribe` request the
 * shim also pushes {@link EventMessage}s on that connection. Requests on one
 * connection are answered in any order (a `wait` may block for hours).
 *
 * Live stdio does not travel on this socket: see {@link AttachHeader}.
 */
import type { Process, Resources } from "../runtime/spec/types.ts";

/** Where a shim keeps its files (the directory passed as `shim --dir`). */
export const SHIM_SOCKET = "shim.sock";
export const SHIM_PID_FILE = "shim.pid";

/**
 * Files a shim keeps in each container's bundle directory, next to config.json.
 * Everything is written atomically (temp file, fsync, rename).
 */
export const CONTAINER_FILES = {
  /** {@link ContainerRecord}: what the shim knows about the container. */
  record: "shim-container.json",
  /** Directory of {@link ExitRecord}s, one file per process (`init.json`, `<execId>.json`). */
  exits: "exits",
  /** The live-stdio socket of the container; see {@link AttachHeader}. */
  attach: "attach.sock",
} as const;

/**
 * CONTAINER_FILES.record: what a shim knows about a container, for a
 * restarted containerd or for the cleanup after a shim died.
 */
export interface ContainerRecord {
  id: string;
  bundle: string;
  /** The runtime's state directory (`runc --root`). */
  runtimeRoot: string;
  runtime?: string[];
  /** The init's pid (0 until `runc create` has made it). */
  pid: number;
  status: ProcessStatus;
  stdio: StdioConfig;
  /** The shim mounted CreateParams.rootfs at `<bundle>/rootfs` (unmount it). */
  rootfsMounted: boolean;
  shimPid: number;
}

/** exec id of a container's init process. */
export const INIT = "";

// ---------------------------------------------------------------------------
// Requests

/**
 * Where a process's stdio goes. Every field is optional.
 * - `stdin`/`stdout`/`stderr`: paths of FIFOs opened by the shim, as
 *   containerd's clients (ctr) pass them; a `file://` URI appends to a file.
 * - `openStdin`: keep a stdin pipe that attach clients can write to (Docker's
 *   OpenStdin), even without a stdin path.
 * - `log`: Docker's json-file log of the init's stdout and stderr, written
 *   by the shim itself so that logging never depends on a daemon.
 */
export interface StdioConfig {
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
  openStdin?: boolean;
  /**
   * Close the container's stdin when the first attach client's stdin ends
   * (Docker's StdinOnce); never with a terminal, as dockerd.
   */
  stdinOnce?: boolean;
  log?: LogConfig;
}

/** Docker's json-file driver settings. */
export interface LogConfig {
  path: string;
  /** Rotate when the file would exceed this many bytes (0 or absent: never). */
  maxSize?: number;
  /** Number of files kept, the live one included (default 1). */
  maxFile?: number;
}

/** A mount that makes up the root filesystem (containerd's types.Mount). */
export interface RootfsMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface CreateParams {
  /** Container id (also the runtime's container id). */
  id: string;
  /** The OCI bundle: config.json lives here; rootfs mounts go to `<bundle>/rootfs`. */
  bundle: string;
  /** Mounted by the shim at `<bundle>/rootfs` before `runc create`, unmounted at delete. */
  rootfs?: RootfsMount[];
  stdio: StdioConfig;
  /** The runtime's state directory (`runc --root`). */
  runtimeRoot: string;
  /** The runtime's command line (default: this program's `runc` role). */
  runtime?: string[];
  noPivot?: boolean;
}

export interface ExecParams {
  id: string;
  execId: string;
  /** The OCI process to run (`runc exec --process`). */
  process: Process;
  stdio: StdioConfig;
}

export interface ProcessRef {
  id: string;
  /** {@link INIT} ("") or absent for the init process. */
  execId?: string;
}

export type Request =
  | { seq: number; method: "create"; params: CreateParams }
  | { seq: number; method: "start"; params: ProcessRef }
  | { seq: number; method: "exec"; params: ExecParams }
  | { seq: number; method: "kill"; params: ProcessRef & { signal: number; all?: boolean } }
  | { seq: number; method: "pause"; params: { id: string } }
  | { seq: number; method: "resume"; params: { id: string } }
  | { seq: number; method: "resize"; params: ProcessRef & { width: number; height: number } }
  | { seq: number; method: "closeStdin"; params: ProcessRef }
  | { seq: number; method: "state"; params: ProcessRef }
  | { seq: number; method: "list"; params: Record<string, never> }
  | { seq: number; method: "pids"; params: { id: string } }
  /** The runtime's `events --stats` data: {@link Stats}. */
  | { seq: number; method: "stats"; params: { id: string } }
  | { seq: number; method: "update"; params: { id: string; resources: Resources } }
  /** Answers when the process has exited (at once if it already has). */
  | { seq: number; method: "wait"; params: ProcessRef }
  /**
   * Init: `runc delete` (the process must have exited unless `force`),
   * unmounts the rootfs, forgets the container; a shim left with no container
   * exits after answering. Exec: forgets the exited exec process.
   */
  | { seq: number; method: "delete"; params: ProcessRef & { force?: boolean } }
  /** Push events on this connection from now on (and any not yet acknowledged). */
  | { seq: number; method: "subscribe"; params: Record<string, never> }
  /** Exit if no container is left (containerd's Shutdown). */
  | { seq: number; method: "shutdown"; params: Record<string, never> };

export type Method = Request["method"];

// ---------------------------------------------------------------------------
// Responses

export type ProcessStatus = "created" | "running" | "paused" | "stopped";

export interface ProcessState {
  id: string;
  execId: string;
  pid: number;
  status: ProcessStatus;
  bundle: string;
  stdio: StdioConfig;
  /** Set once the process has exited. */
  exit?: ExitRecord;
}

/** A process's exit, recorded durably before it is reported. */
export interface ExitRecord {
  pid: number;
  /** Exit code, or 128 + signal number. */
  status: number;
  /** RFC 3339 with nanoseconds. */
  exitedAt: string;
}

export interface PidInfo {
  pid: number;
  /** The exec id when the pid is an exec process's. */
  execId?: string;
}

/** The result of each method. */
export interface Results {
  create: { pid: number };
  start: { pid: number };
  exec: Record<string, never>;
  kill: Record<string, never>;
  pause: Record<string, never>;
  resume: Record<string, never>;
  resize: Record<string, never>;
  closeStdin: Record<string, never>;
  state: ProcessState;
  list: { containers: ProcessState[] };
  pids: { pids: PidInfo[] };
  stats: Stats;
  update: Record<string, never>;
  wait: ExitRecord;
  delete: ExitRecord;
  subscribe: Record<string, never>;
  shutdown: Record<string, never>;
}

/** Stats as the runtime prints them with `events --stats` (runc's `data` object). */
export type Stats = Record<string, unknown>;

/**
 * Error codes, chosen to map one to one onto gRPC codes as containerd does
 * (errdefs): not_found → NOT_FOUND, already_exists → ALREADY_EXISTS,
 * failed_precondition → FAILED_PRECONDITION, invalid_argument →
 * INVALID_ARGUMENT, unavailable → UNAVAILABLE, unknown → UNKNOWN.
 */
export type ErrorCode =
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "invalid_argument"
  | "unavailable"
  | "unknown";

export type Response =
  | { seq: number; result: unknown }
  | { seq: number; error: { code: ErrorCode; message: string } };

// ---------------------------------------------------------------------------
// Events

export type Event =
  | { type: "exit"; id: string; execId: string; exit: ExitRecord }
  /** A new OOM kill in the container's memory cgroup (memory-limited containers, and at exit). */
  | { type: "oom"; id: string }
  | { type: "start"; id: string; execId: string; pid: number }
  | { type: "delete"; id: string; exit: ExitRecord };

/** An event pushed to a subscribed connection. `seq` is absent: it answers no request. */
export interface EventMessage {
  event: Event;
}

// ---------------------------------------------------------------------------
// Live stdio: the attach socket

/**
 * The first line a client sends on a container's attach socket (JSON, then
 * "\n"). Then:
 * - shim → client: the process's output. With a terminal, raw bytes. Without,
 *   Docker's multiplexed frames: 8-byte header [stream, 0, 0, 0, size (u32 big
 *   endian)] then `size` bytes; stream 1 = stdout, 2 = stderr.
 * - client → shim: raw stdin bytes (if `stdin`). When the client half-closes
 *   its side, its stdin ends; the container's stdin is closed then only with
 *   StdioConfig.stdinOnce and no terminal (or by a `closeStdin` request).
 * The shim closes the connection when the process's output ends.
 * Any number of clients may attach at any time; each gets the output from the
 * moment it attached (history is in the log file).
 */
export interface AttachHeader {
  /** {@link INIT} or an exec id. */
  execId?: string;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /**
   * Asks for one "\n" byte once the client is registered, before any output:
   * from then on it gets the output, and an exec not yet started gets its
   * stdin. A client that starts the process next waits for it.
   */
  ack?: boolean;
}

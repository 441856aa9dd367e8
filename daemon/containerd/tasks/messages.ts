/**
 * The Tasks service's messages (proto/services/tasks/v1/tasks.proto,
 * proto/types/task/task.proto, proto/events/task.proto) as proto-loader
 * hands them over: snake_case field names, enums as names, Timestamps as
 * { seconds, nanos }, Any as { type_url, value }.
 */
import type { Any } from "../context.ts";
import type { Timestamp } from "./time.ts";

export type { Any, Timestamp };

/** containerd.types.Mount */
export interface MountMsg {
  type: string;
  source: string;
  target: string;
  options: string[];
}

/** containerd.v1.types.Status */
export type StatusName = "UNKNOWN" | "CREATED" | "RUNNING" | "STOPPED" | "PAUSED" | "PAUSING";

/** containerd.v1.types.Process */
export interface ProcessMsg {
  container_id: string;
  id: string;
  pid: number;
  status: StatusName;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exit_status: number;
  exited_at?: Timestamp;
}

/** containerd.v1.types.ProcessInfo */
export interface ProcessInfoMsg {
  pid: number;
  info?: Any;
}

/** containerd.types.Metric */
export interface MetricMsg {
  timestamp: Timestamp;
  id: string;
  data: Any;
}

export interface CreateTaskRequest {
  container_id: string;
  rootfs: MountMsg[];
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  checkpoint?: { media_type: string; digest: string; size: number | string };
  options?: Any;
  runtime_path: string;
}
export interface CreateTaskResponse {
  container_id: string;
  pid: number;
}
export interface StartRequest {
  container_id: string;
  exec_id: string;
}
export interface StartResponse {
  pid: number;
}
export interface DeleteTaskRequest {
  container_id: string;
}
export interface DeleteProcessRequest {
  container_id: string;
  exec_id: string;
}
export interface DeleteResponse {
  id: string;
  pid: number;
  exit_status: number;
  exited_at?: Timestamp;
}
export interface GetRequest {
  container_id: string;
  exec_id: string;
}
export interface GetResponse {
  process: ProcessMsg;
}
export interface ListTasksRequest {
  filter: string;
}
export interface ListTasksResponse {
  tasks: ProcessMsg[];
}
export interface KillRequest {
  container_id: string;
  exec_id: string;
  signal: number;
  all: boolean;
}
export interface ExecProcessRequest {
  container_id: string;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  spec?: Any;
  exec_id: string;
}
export interface ResizePtyRequest {
  container_id: string;
  exec_id: string;
  width: number;
  height: number;
}
export interface CloseIORequest {
  container_id: string;
  exec_id: string;
  stdin: boolean;
}
export interface PauseTaskRequest {
  container_id: string;
}
export interface ResumeTaskRequest {
  container_id: string;
}
export interface ListPidsRequest {
  container_id: string;
}
export interface ListPidsResponse {
  processes: ProcessInfoMsg[];
}
export interface UpdateTaskRequest {
  container_id: string;
  resources?: Any;
  annotations: Record<string, string>;
}
export interface MetricsRequest {
  filters: string[];
}
export interface MetricsResponse {
  metrics: MetricMsg[];
}
export interface WaitRequest {
  container_id: string;
  exec_id: string;
}
export interface WaitResponse {
  exit_status: number;
  exited_at?: Timestamp;
}
/** google.protobuf.Empty */
export type Empty = Record<string, never>;

/** Event payloads (containerd.events.*), by topic. */
export interface TaskEvents {
  "/tasks/create": {
    container_id: string;
    bundle: string;
    rootfs: MountMsg[];
    io: { stdin: string; stdout: string; stderr: string; terminal: boolean };
    checkpoint: string;
    pid: number;
  };
  "/tasks/start": { container_id: string; pid: number };
  "/tasks/delete": {
    container_id: string;
    pid: number;
    exit_status: number;
    exited_at?: Timestamp;
    id: string;
  };
  "/tasks/exit": {
    container_id: string;
    id: string;
    pid: number;
    exit_status: number;
    exited_at?: Timestamp;
  };
  "/tasks/oom": { container_id: string };
  "/tasks/exec-added": { container_id: string; exec_id: string };
  "/tasks/exec-started": { container_id: string; exec_id: string; pid: number };
  "/tasks/paused": { container_id: string };
  "/tasks/resumed": { container_id: string };
}

/** The message type of each topic's payload. */
export const EVENT_TYPES: { [T in keyof TaskEvents]: string } = {
  "/tasks/create": "containerd.events.TaskCreate",
  "/tasks/start": "containerd.events.TaskStart",
  "/tasks/delete": "containerd.events.TaskDelete",
  "/tasks/exit": "containerd.events.TaskExit",
  "/tasks/oom": "containerd.events.TaskOOM",
  "/tasks/exec-added": "containerd.events.TaskExecAdded",
  "/tasks/exec-started": "containerd.events.TaskExecStarted",
  "/tasks/paused": "containerd.events.TaskPaused",
  "/tasks/resumed": "containerd.events.TaskResumed",
};

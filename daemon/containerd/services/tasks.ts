/**
 * containerd.services.tasks.v1.Tasks (placeholder until the task service
 * lands): every method answers UNIMPLEMENTED. The shape is server.ts's:
 * handlers keyed by RPC name, each `(ns, request, call) => Promise<response>`;
 * every Tasks method gets a validated namespace.
 */
import { Code, ContainerdError, type DaemonContext } from "../context.ts";
import type { Handlers } from "../server.ts";

const METHODS = [
  "Create",
  "Start",
  "Delete",
  "DeleteProcess",
  "Get",
  "List",
  "Kill",
  "Exec",
  "ResizePty",
  "CloseIO",
  "Pause",
  "Resume",
  "ListPids",
  "Checkpoint",
  "Update",
  "Metrics",
  "Wait",
];

export function tasksService(_ctx: DaemonContext): Handlers {
  const unimplemented = (method: string) => () =>
    Promise.reject(new ContainerdError(Code.UNIMPLEMENTED, `tasks: ${method} is not implemented`));
  return Object.fromEntries(METHODS.map((m) => [m, unimplemented(m)]));
}

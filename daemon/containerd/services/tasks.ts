/**
 * containerd.services.tasks.v1.Tasks: the task lifecycle over berth's shims
 * (daemon/containerd/tasks/). Building the service also starts recovery of
 * the previous run's tasks; every call waits for it to finish.
 */
import type { DaemonContext } from "../context.ts";
import type { Handlers } from "../server.ts";
import { connectShim, startShim } from "../../../shim/client.ts";
import { createTasksService } from "../tasks/mod.ts";

export function tasksService(ctx: DaemonContext): Handlers {
  const debug = ctx.config.logLevel === "debug" || ctx.config.logLevel === "trace";
  const svc = createTasksService(ctx, {
    start: (dir) => startShim(dir, { debug }),
    connect: connectShim,
  });
  return svc.handlers as unknown as Handlers;
}

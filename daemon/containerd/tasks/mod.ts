/**
 * The Tasks service put together: a manager over the shims, recovery of the
 * previous run started at once, and handlers that wait for it (so no call
 * sees a half-recovered state).
 */
import type { DaemonContext } from "../context.ts";
import { TaskManager } from "./manager.ts";
import { recoverTasks } from "./recovery.ts";
import { type TasksHandlers, tasksHandlers } from "./service.ts";
import type { ShimDriver } from "./shims.ts";

export interface TasksService {
  manager: TaskManager;
  handlers: TasksHandlers;
  /** Settles when recovery is done (it never rejects: failures are logged). */
  ready: Promise<void>;
}

export function createTasksService(ctx: DaemonContext, driver: ShimDriver): TasksService {
  const manager = new TaskManager(ctx, driver);
  const ready = recoverTasks(manager).catch((e) =>
    manager.log(`recovery failed: ${(e as Error).stack ?? e}`)
  );
  const inner = tasksHandlers(manager);
  const handlers = Object.fromEntries(
    Object.entries(inner).map(([name, fn]) => [
      name,
      async (ns: string, req: unknown) => {
        await ready;
        return await (fn as (ns: string, req: unknown) => Promise<unknown>)(ns, req);
      },
    ]),
  ) as unknown as TasksHandlers;
  return { manager, handlers, ready };
}

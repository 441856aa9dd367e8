/**
 * containerd.services.tasks.v1.Tasks: each RPC as a function of the call's
 * namespace and request, answering containerd's messages. The gRPC binding
 * (services/tasks.ts) supplies the namespace and turns ContainerdErrors into
 * statuses.
 */
import { Code, ContainerdError } from "../context.ts";
import type { ExitRecord } from "../../../shim/api.ts";
import type { TaskManager } from "./manager.ts";
import type * as M from "./messages.ts";
import { toTimestamp } from "./time.ts";

type Handler<Req, Res> = (ns: string, req: Req) => Promise<Res>;

export interface TasksHandlers {
  Create: Handler<M.CreateTaskRequest, M.CreateTaskResponse>;
  Start: Handler<M.StartRequest, M.StartResponse>;
  Delete: Handler<M.DeleteTaskRequest, M.DeleteResponse>;
  DeleteProcess: Handler<M.DeleteProcessRequest, M.DeleteResponse>;
  Get: Handler<M.GetRequest, M.GetResponse>;
  List: Handler<M.ListTasksRequest, M.ListTasksResponse>;
  Kill: Handler<M.KillRequest, M.Empty>;
  Exec: Handler<M.ExecProcessRequest, M.Empty>;
  ResizePty: Handler<M.ResizePtyRequest, M.Empty>;
  CloseIO: Handler<M.CloseIORequest, M.Empty>;
  Pause: Handler<M.PauseTaskRequest, M.Empty>;
  Resume: Handler<M.ResumeTaskRequest, M.Empty>;
  ListPids: Handler<M.ListPidsRequest, M.ListPidsResponse>;
  Checkpoint: Handler<unknown, never>;
  Update: Handler<M.UpdateTaskRequest, M.Empty>;
  Metrics: Handler<M.MetricsRequest, M.MetricsResponse>;
  Wait: Handler<M.WaitRequest, M.WaitResponse>;
}

/** Every RPC names its container; an empty id is refused up front. */
function need(id: string | undefined): string {
  if (!id) throw new ContainerdError(Code.INVALID_ARGUMENT, "container id must not be empty");
  return id;
}

const deleted = (id: string, e: ExitRecord): M.DeleteResponse => ({
  id,
  pid: e.pid,
  exit_status: e.status,
  exited_at: toTimestamp(e.exitedAt),
});

export function tasksHandlers(m: TaskManager): TasksHandlers {
  const empty = {} as M.Empty;
  return {
    Create: async (ns, r) => {
      const id = need(r.container_id);
      const pid = await m.create(ns, id, {
        rootfs: r.rootfs ?? [],
        io: {
          stdin: r.stdin ?? "",
          stdout: r.stdout ?? "",
          stderr: r.stderr ?? "",
          terminal: !!r.terminal,
        },
        checkpoint: !!r.checkpoint?.digest,
      });
      return { container_id: id, pid };
    },
    Start: async (ns, r) => ({ pid: await m.start(ns, need(r.container_id), r.exec_id ?? "") }),
    Delete: async (ns, r) => {
      const id = need(r.container_id);
      return deleted(id, await m.delete(ns, id));
    },
    DeleteProcess: async (ns, r) => {
      const id = need(r.container_id);
      return deleted(r.exec_id || id, await m.deleteProcess(ns, id, r.exec_id ?? ""));
    },
    Get: async (ns, r) => ({ process: await m.get(ns, need(r.container_id), r.exec_id ?? "") }),
    List: async (ns) => ({ tasks: await m.list(ns) }),
    Kill: async (ns, r) => {
      await m.kill(ns, need(r.container_id), r.exec_id ?? "", r.signal ?? 0, !!r.all);
      return empty;
    },
    Exec: async (ns, r) => {
      const io = {
        stdin: r.stdin ?? "",
        stdout: r.stdout ?? "",
        stderr: r.stderr ?? "",
        terminal: !!r.terminal,
      };
      await m.exec(ns, need(r.container_id), r.exec_id ?? "", io, r.spec);
      return empty;
    },
    ResizePty: async (ns, r) => {
      await m.resize(ns, need(r.container_id), r.exec_id ?? "", r.width ?? 0, r.height ?? 0);
      return empty;
    },
    CloseIO: async (ns, r) => {
      await m.closeIO(ns, need(r.container_id), r.exec_id ?? "", !!r.stdin);
      return empty;
    },
    Pause: async (ns, r) => {
      await m.pause(ns, need(r.container_id));
      return empty;
    },
    Resume: async (ns, r) => {
      await m.resume(ns, need(r.container_id));
      return empty;
    },
    ListPids: async (ns, r) => ({ processes: await m.pids(ns, need(r.container_id)) }),
    Checkpoint: () =>
      Promise.reject(new ContainerdError(Code.UNIMPLEMENTED, "checkpoint is not supported")),
    Update: async (ns, r) => {
      await m.update(ns, need(r.container_id), r.resources);
      return empty;
    },
    Metrics: async (ns, r) => ({ metrics: await m.metrics(ns, r.filters ?? []) }),
    Wait: async (ns, r) => {
      const e = await m.wait(ns, need(r.container_id), r.exec_id ?? "");
      return { exit_status: e.status, exited_at: toTimestamp(e.exitedAt) };
    },
  };
}

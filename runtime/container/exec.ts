/**
 * `exec`: a new process in a running container. The runtime joins the
 * container's pid, network, ipc and uts namespaces and starts an init in
 * "exec" mode, which joins the mount and cgroup namespaces itself (a process
 * cannot start a program from the host once it is in the container's mounts).
 */
import type { Process } from "../spec/types.ts";
import type { RuntimeContext } from "../context.ts";
import { validateSpec } from "../spec/validate.ts";
import { cgroupVersion } from "../cgroups/mod.ts";
import { openContainer } from "./container.ts";
import { execSpec, type InitStdio, type StartedInit, startInit, stdioFor } from "./init_process.ts";
import { containerDir, writeFileAtomic } from "./state.ts";
import { PROC_NS } from "./namespaces.ts";

export interface ExecOptions {
  id: string;
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  ignorePaused?: boolean;
  /** The process's stdio without a terminal (default: the runtime's own). */
  stdio?: InitStdio;
  /** Called with the pid as soon as the process exists (an in-process caller's reaper must know it). */
  onSpawned?: (pid: number) => void;
}

export async function execInContainer(
  ctx: RuntimeContext,
  opts: ExecOptions,
): Promise<StartedInit> {
  const c = openContainer(ctx, opts.id);
  const cgroup = await c.cgroup();
  const status = c.status();
  if (status === "stopped") throw new Error("cannot exec in a stopped container");
  if (status === "paused" && !opts.ignorePaused) {
    throw new Error("cannot exec in a paused container (use --ignore-paused to override)");
  }
  const spec = execSpec(c.rec.config, opts.process);
  validateSpec(spec);
  if (opts.process.terminal && !opts.consoleSocket) {
    throw new Error("exec with a terminal needs a console socket");
  }
  const nsPath = (t: keyof typeof PROC_NS) => `/proc/${c.rec.pid}/ns/${PROC_NS[t]}`;
  const namespaces = (c.rec.config.linux?.namespaces ?? []).map((n) => ({
    type: n.type,
    path: n.path ?? nsPath(n.type),
  }));
  const has = (t: "mount" | "cgroup") => namespaces.some((n) => n.type === t);
  const dir = containerDir(ctx.root, opts.id);
  const init = await startInit({
    syncSocket: `${dir}/exec-${crypto.randomUUID().slice(0, 8)}.sock`,
    cfg: {
      mode: "exec",
      id: opts.id,
      spec,
      rootfs: c.rec.rootfs,
      consoleSocket: opts.consoleSocket,
      noPivot: false,
      preserveFds: opts.preserveFds ?? 0,
      newCgroupNs: false,
      cgroups: { version: cgroupVersion(), paths: cgroup.paths, namespaced: false },
      join: {
        mount: has("mount") ? nsPath("mount") : undefined,
        cgroup: has("cgroup") ? nsPath("cgroup") : undefined,
      },
    },
    namespaces,
    skip: ["mount", "cgroup"],
    stdio: opts.process.terminal ? stdioFor("null") : opts.stdio ?? stdioFor("inherit"),
    onSpawned: opts.onSpawned,
    placeInCgroup: (pid) => cgroup.apply(pid),
    stateFor: () => {
      throw new Error("internal: no hooks for exec");
    },
  });
  if (opts.pidFile) writeFileAtomic(opts.pidFile, String(init.pid), 0o644);
  return init;
}

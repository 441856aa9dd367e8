/**
 * `create`: from a bundle to a container whose init waits for `start`.
 * On any failure nothing is left behind: no state directory, cgroup or init.
 */
import type { State } from "../spec/types.ts";
import type { RuntimeContext } from "../context.ts";
import { loadSpec } from "../spec/validate.ts";
import { cgroupVersion, newCgroupManager } from "../cgroups/mod.ts";
import { runHooks } from "./hooks.ts";
import { type InitStdio, type StartedInit, startInit, stdioFor } from "./init_process.ts";
import {
  containerDir,
  type ContainerRecord,
  OCI_VERSION,
  processStartTime,
  saveRecord,
  startSocketPath,
  validateId,
  writeFileAtomic,
} from "./state.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /**
   * The init's stdio without a terminal (default: the runtime's own). A
   * terminal always gets none: the pty is the process's stdio.
   */
  stdio?: InitStdio;
  /** Called with the init's pid as soon as it exists (an in-process caller's reaper must know it). */
  onSpawned?: (pid: number) => void;
}

export async function createContainer(
  ctx: RuntimeContext,
  opts: CreateOptions,
): Promise<{ rec: ContainerRecord; init: StartedInit }> {
  const id = validateId(opts.id);
  let bundle: string;
  try {
    bundle = Deno.realPathSync(opts.bundle);
  } catch {
    throw new Error(`bundle ${opts.bundle} does not exist`);
  }
  const { spec, rootfs, warnings } = loadSpec(bundle);
  for (const w of warnings) ctx.log.warn(w);
  const process = spec.process!;
  if (process.terminal && !opts.consoleSocket) {
    throw new Error("cannot allocate tty if runc will detach without setting console socket");
  }
  if (!process.terminal && opts.consoleSocket) {
    throw new Error("cannot use console socket if runc will not detach or allocate tty");
  }
  const namespaces = spec.linux?.namespaces ?? [];
  if (!namespaces.some((n) => n.type === "mount")) {
    throw new Error(
      "config.json: linux.namespaces: berth needs a mount namespace for the container",
    );
  }

  Deno.mkdirSync(ctx.root, { recursive: true, mode: 0o700 });
  const dir = containerDir(ctx.root, id);
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw new Error(`container with id exists: ${id}`);
    throw e;
  }

  const cgroup = newCgroupManager(spec.linux?.cgroupsPath, id);
  const newCgroupNs = namespaces.some((n) => n.type === "cgroup" && !n.path);
  const stateFor = (pid: number, status: State["status"]): State => ({
    ociVersion: OCI_VERSION,
    id,
    status,
    pid,
    bundle,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  // Saved before anything is made, so a `delete` after a crash at any later
  // point finds the cgroups and the init to clean up.
  const rec: ContainerRecord = {
    id,
    bundle,
    pid: 0,
    pidStartTime: "",
    created: new Date().toISOString(),
    owner: Deno.uid() === 0 ? "root" : String(Deno.uid()),
    config: spec,
    rootfs,
    cgroupPaths: cgroup.paths,
    creating: true,
  };
  saveRecord(ctx.root, rec);
  let init: StartedInit | undefined;
  try {
    init = await startInit({
      cfg: {
        mode: "create",
        id,
        spec,
        rootfs,
        syncSocket: `${dir}/sync.sock`,
        startSocket: startSocketPath(ctx.root, id),
        consoleSocket: opts.consoleSocket,
        noPivot: opts.noPivot ?? false,
        preserveFds: opts.preserveFds ?? 0,
        newCgroupNs,
        cgroups: { version: cgroupVersion(), paths: cgroup.paths, namespaced: newCgroupNs },
      },
      workDir: dir,
      namespaces,
      stdio: process.terminal ? stdioFor("null") : opts.stdio ?? stdioFor("inherit"),
      // Runs while the new init starts up, before it is told to go on.
      placeInCgroup: (pid) => {
        opts.onSpawned?.(pid);
        rec.pid = pid;
        rec.pidStartTime = processStartTime(pid) ?? "";
        saveRecord(ctx.root, rec);
        cgroup.create();
        cgroup.set(spec.linux?.resources ?? {}, { devices: spec.linux?.devices });
        cgroup.apply(pid);
      },
      stateFor: (pid) => stateFor(pid, "creating"),
      runtimeHooks: async (state) => {
        await runHooks("prestart", spec.hooks?.prestart, state);
        await runHooks("createRuntime", spec.hooks?.createRuntime, state);
      },
    });
    delete rec.creating;
    saveRecord(ctx.root, rec);
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(init.pid), 0o644);
    return { rec, init };
  } catch (e) {
    if (init) {
      try {
        init.child.kill("SIGKILL");
      } catch { /* gone */ }
      await init.child.status;
    }
    await cgroup.destroy().catch(() => {});
    Deno.removeSync(dir, { recursive: true });
    throw e;
  }
}

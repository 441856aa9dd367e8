/**
 * The rest of `create` (see ./create.ts), loaded while the init starts up:
 * the full check of config.json, the state record, the cgroups, then the
 * sync protocol with the init and the runtime's hooks.
 */
import type { State } from "../spec/types.ts";
import type { RuntimeContext } from "../context.ts";
import { loadSpec } from "../spec/validate.ts";
import { cgroupVersion, newCgroupManager, primeMigration } from "../cgroups/mod.ts";
import { runHooks } from "./hooks.ts";
import {
  abandonInit,
  driveInit,
  type InitSpawn,
  type SpawnedInit,
  spawnInit,
  type StartedInit,
} from "./init_process.ts";
import { type CreateOptions, type EarlyInit, initSpawnOf } from "./create.ts";
import {
  type ContainerRecord,
  OCI_VERSION,
  processStartTime,
  saveRecord,
  startSocketPath,
  writeFileAtomic,
} from "./state.ts";

/** What create has done so far: the id is reserved (its directory exists), maybe an init spawned. */
export interface Reserved {
  id: string;
  bundle: string;
  dir: string;
  early?: EarlyInit;
}

export async function setUpContainer(
  ctx: RuntimeContext,
  opts: CreateOptions,
  { id, bundle, dir, early }: Reserved,
): Promise<{ rec: ContainerRecord; init: StartedInit }> {
  let spawned: SpawnedInit | undefined = early?.init;
  let init: StartedInit | undefined;
  let checked: ReturnType<typeof checkSpec>;
  try {
    checked = checkSpec(ctx, opts, bundle, id);
  } catch (e) {
    if (spawned) await abandonInit(spawned);
    Deno.removeSync(dir, { recursive: true });
    throw e;
  }
  const { spec, rootfs, manager } = checked;
  const namespaces = spec.linux?.namespaces ?? [];
  const newCgroupNs = namespaces.some((n) => n.type === "cgroup" && !n.path);
  const stateFor = (pid: number, status: State["status"]): State => ({
    ociVersion: OCI_VERSION,
    id,
    status,
    pid,
    bundle,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  // Saved before anything else is made, so a `delete` after a crash at any
  // later point finds the cgroups and the init to clean up. (An init spawned
  // early whose create dies before this exits by itself: its socket closes.)
  const rec: ContainerRecord = {
    id,
    bundle,
    pid: 0,
    pidStartTime: "",
    created: new Date().toISOString(),
    owner: Deno.uid() === 0 ? "root" : String(Deno.uid()),
    config: spec,
    rootfs,
    cgroupPaths: manager.paths,
    creating: true,
  };
  try {
    saveRecord(ctx.root, rec);
    const how = initSpawnOf(spec, dir, opts);
    if (early && !sameSpawn(early.how, how)) {
      spawned = undefined;
      await abandonInit(early.init);
    }
    spawned ??= spawnInit(how);
    init = await driveInit(spawned, {
      cfg: {
        mode: "create",
        id,
        spec,
        rootfs,
        startSocket: startSocketPath(ctx.root, id),
        consoleSocket: opts.consoleSocket,
        noPivot: opts.noPivot ?? false,
        preserveFds: opts.preserveFds ?? 0,
        newCgroupNs,
        hookPause: Boolean(
          spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length ||
            spec.hooks?.createContainer?.length,
        ),
        cgroups: { version: cgroupVersion(), paths: manager.paths, namespaced: newCgroupNs },
      },
      prepare: (pid) => {
        rec.pid = pid;
        rec.pidStartTime = processStartTime(pid) ?? "";
        saveRecord(ctx.root, rec);
        manager.create();
        // The init is moved in once it has started up; make that move fast.
        // (After the mkdirs: the priming move holds the cgroup mutex while it waits.)
        primeMigration();
      },
      placeInCgroup: (pid) => manager.apply(pid),
      onReady: () => manager.set(spec.linux?.resources ?? {}, { devices: spec.linux?.devices }),
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
    } else if (spawned) {
      // driveInit kills its init on failure; this is one that never got there.
      await abandonInit(spawned).catch(() => {});
    }
    await manager.destroy().catch(() => {});
    Deno.removeSync(dir, { recursive: true });
    throw e;
  }
}

/** The full check of config.json and the options that go with it; the (not yet made) cgroup. */
function checkSpec(ctx: RuntimeContext, opts: CreateOptions, bundle: string, id: string) {
  const { spec, rootfs, warnings } = loadSpec(bundle);
  for (const w of warnings) ctx.log.warn(w);
  const process = spec.process!;
  if (process.terminal && !opts.consoleSocket) {
    throw new Error("cannot allocate tty if runc will detach without setting console socket");
  }
  if (!process.terminal && opts.consoleSocket) {
    throw new Error("cannot use console socket if runc will not detach or allocate tty");
  }
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === "mount")) {
    throw new Error(
      "config.json: linux.namespaces: berth needs a mount namespace for the container",
    );
  }
  return { spec, rootfs, manager: newCgroupManager(spec.linux?.cgroupsPath, id) };
}

/** The same namespaces, propagation and stdio (the callback is the caller's own either way). */
function sameSpawn(a: InitSpawn, b: InitSpawn): boolean {
  const key = (s: InitSpawn) =>
    JSON.stringify([s.syncSocket, s.namespaces, s.rootfsPropagation, s.skip, s.stdio]);
  return key(a) === key(b);
}

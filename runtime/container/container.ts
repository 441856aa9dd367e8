/**
 * A container loaded from its record, with what commands need to act on
 * it: its live status, its cgroup, and waiting for its processes to end.
 * The cgroup manager is loaded only by the commands that use it: `start`
 * and `state` stay a few milliseconds lighter.
 */
import type { RuntimeContext } from "../context.ts";
import type { CgroupManager } from "../cgroups/mod.ts";
import { kill as killPid, processExists } from "../linux/libc.ts";
import {
  type ContainerRecord,
  currentStatus,
  initAlive,
  loadRecord,
  type Status,
} from "./state.ts";

export interface Container {
  rec: ContainerRecord;
  cgroup(): Promise<CgroupManager>;
  status(): Status;
}

export function openContainer(ctx: RuntimeContext, id: string): Container {
  const rec = loadRecord(ctx.root, id);
  let manager: CgroupManager | undefined;
  return {
    rec,
    async cgroup() {
      manager ??= (await import("../cgroups/mod.ts")).loadCgroupManager(rec.cgroupPaths);
      return manager;
    },
    status: () => currentStatus(ctx.root, rec, () => frozen(rec.cgroupPaths)),
  };
}

/** Whether the freezer holds the container (v1 freezer.state, v2 cgroup.events). */
function frozen(paths: Record<string, string>): boolean {
  if (paths.freezer) {
    return Deno.readTextFileSync(`${paths.freezer}/freezer.state`).trim() === "FROZEN";
  }
  if (paths[""]) return /^frozen 1$/m.test(Deno.readTextFileSync(`${paths[""]}/cgroup.events`));
  return false;
}

/** Waits until the init has exited (reaped or a zombie), up to `timeoutMs`. */
export async function waitInitExit(rec: ContainerRecord, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (initAlive(rec)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Sends a signal to every process of the container (the cgroup's members). */
export async function signalAll(c: Container, signal: number): Promise<void> {
  const pids = new Set((await c.cgroup()).pids());
  if (initAlive(c.rec)) pids.add(c.rec.pid);
  for (const pid of pids) {
    try {
      if (processExists(pid)) killPid(pid, signal);
    } catch { /* exited meanwhile */ }
  }
}

/** `kill`: a signal to the init or, with `all`, to every process of the container. */
export async function killContainer(
  ctx: RuntimeContext,
  id: string,
  signal: number,
  all: boolean,
): Promise<void> {
  const c = openContainer(ctx, id);
  if (c.status() === "stopped") throw new Error("container not running");
  if (all) await signalAll(c, signal);
  else killPid(c.rec.pid, signal);
}

/** SIGKILLs everything in the container and waits for it to be gone. */
export async function killEverything(c: Container): Promise<void> {
  const cgroup = await c.cgroup();
  await signalAll(c, 9);
  // Frozen processes cannot die: thaw after the signal is queued.
  if (cgroup.frozen()) await cgroup.thaw();
  await waitInitExit(c.rec);
  const deadline = Date.now() + 5_000;
  while (cgroup.pids().length && Date.now() < deadline) {
    await signalAll(c, 9);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A container loaded from its record, with what commands need to act on
 * it: its live status, its cgroup, and waiting for its processes to end.
 */
import type { RuntimeContext } from "../context.ts";
import { type CgroupManager, loadCgroupManager } from "../cgroups/mod.ts";
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
  cgroup: CgroupManager;
  status(): Status;
}

export function openContainer(ctx: RuntimeContext, id: string): Container {
  const rec = loadRecord(ctx.root, id);
  const cgroup = loadCgroupManager(rec.cgroupPaths);
  return { rec, cgroup, status: () => currentStatus(ctx.root, rec, () => cgroup.frozen()) };
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
export function signalAll(c: Container, signal: number): void {
  const pids = new Set(c.cgroup.pids());
  if (initAlive(c.rec)) pids.add(c.rec.pid);
  for (const pid of pids) {
    try {
      if (processExists(pid)) killPid(pid, signal);
    } catch { /* exited meanwhile */ }
  }
}

/** SIGKILLs everything in the container and waits for it to be gone. */
export async function killEverything(c: Container): Promise<void> {
  signalAll(c, 9);
  // Frozen processes cannot die: thaw after the signal is queued.
  if (c.cgroup.frozen()) await c.cgroup.thaw();
  await waitInitExit(c.rec);
  const deadline = Date.now() + 5_000;
  while (c.cgroup.pids().length && Date.now() < deadline) {
    signalAll(c, 9);
    await new Promise((r) => setTimeout(r, 10));
  }
}

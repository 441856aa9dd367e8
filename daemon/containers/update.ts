/**
 * `docker update`: new resource limits and restart policy for a container,
 * as dockerd's ContainerUpdate. The request is checked as at create (400),
 * merged into the record as container.UpdateContainer does (only the fields
 * that are set; 409 for conflicts with what is already set), and, for a
 * running container, applied through containerd's Tasks.Update (the
 * record is put back if that fails). A stopped container gets its new
 * limits at its next start. Every update is an "update" event.
 */
import type { Engine } from "../engine.ts";
import type { HostConfig, RestartPolicy } from "../api/types.ts";
import { ApiError, badRequest, conflict } from "../api/errors.ts";
import { containerEvent } from "../events.ts";
import { ContainerdCallError } from "../containerd_client.ts";
import { compareVersions } from "../api/version.ts";

/** container.UpdateConfig: the Resources fields berth applies, and the restart policy. */
export interface UpdateConfig {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  BlkioWeight?: number;
  PidsLimit?: number | null;
  RestartPolicy?: RestartPolicy;
}

const MIN_MEMORY = 6 * 1024 * 1024;
/** containerd's type URL for OCI LinuxResources (the value is its JSON). */
const RESOURCES_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

/** dockerd's verifyContainerSettings for an update (400s). */
function verify(u: UpdateConfig): void {
  const mem = u.Memory ?? 0, swap = u.MemorySwap ?? 0, reservation = u.MemoryReservation ?? 0;
  if (mem !== 0 && mem < MIN_MEMORY) throw badRequest("Minimum memory limit allowed is 6MB");
  if (mem > 0 && swap > 0 && swap < mem) {
    throw badRequest("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (reservation > 0 && reservation < MIN_MEMORY) {
    throw badRequest("Minimum memory reservation allowed is 6MB");
  }
  if (mem > 0 && reservation > 0 && mem < reservation) {
    throw badRequest(
      "Minimum memory limit can not be less than memory reservation limit, see usage",
    );
  }
  const nano = u.NanoCpus ?? 0, period = u.CpuPeriod ?? 0, quota = u.CpuQuota ?? 0;
  if (nano > 0 && period > 0) {
    throw badRequest("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (nano > 0 && quota > 0) {
    throw badRequest("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  const ncpu = navigator.hardwareConcurrency;
  if (nano < 0 || nano > ncpu * 1e9) {
    throw badRequest(
      `Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`,
    );
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw badRequest(
      "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
    );
  }
  if (quota > 0 && quota < 1000) {
    throw badRequest("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  }
  const p = u.RestartPolicy;
  const retries = p?.MaximumRetryCount ?? 0;
  switch (p?.Name ?? "") {
    case "always":
    case "unless-stopped":
    case "no":
      if (retries !== 0) {
        throw badRequest(`maximum retry count cannot be used with restart policy '${p!.Name}'`);
      }
      break;
    case "on-failure":
      if (retries < 0) throw badRequest("maximum retry count cannot be negative");
      break;
    case "":
      break;
    default:
      throw badRequest(`invalid restart policy '${p!.Name}'`);
  }
}

/** container.UpdateContainer: the set fields over the current ones (409 on conflicts). */
export function mergeUpdate(cur: HostConfig, u: UpdateConfig): HostConfig {
  const next: HostConfig = { ...cur };
  // NanoCpus stands for a period and a quota: one way or the other, not both.
  if ((u.NanoCpus ?? 0) > 0 && (cur.CpuPeriod ?? 0) > 0) {
    throw conflict(
      "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set",
    );
  }
  if ((u.NanoCpus ?? 0) > 0 && (cur.CpuQuota ?? 0) > 0) {
    throw conflict(
      "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
    );
  }
  if ((u.CpuPeriod ?? 0) > 0 && (cur.NanoCpus ?? 0) > 0) {
    throw conflict(
      "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
    );
  }
  if ((u.CpuQuota ?? 0) > 0 && (cur.NanoCpus ?? 0) > 0) {
    throw conflict(
      "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
    );
  }
  const numbers = [
    "BlkioWeight",
    "CpuShares",
    "NanoCpus",
    "CpuPeriod",
    "CpuQuota",
    "MemoryReservation",
  ] as const;
  for (const k of numbers) if (u[k]) next[k] = u[k];
  if (u.CpusetCpus) next.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems) next.CpusetMems = u.CpusetMems;
  if (u.Memory) {
    // As dockerd: a new memory limit above the memory+swap limit needs a new swap limit too.
    if (u.Memory > (cur.MemorySwap ?? 0) && !u.MemorySwap) {
      throw conflict(
        "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
      );
    }
    next.Memory = u.Memory;
  }
  if (u.MemorySwap) next.MemorySwap = u.MemorySwap;
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) next.PidsLimit = u.PidsLimit;
  if (u.RestartPolicy?.Name) {
    if (u.RestartPolicy.Name !== "no" && cur.AutoRemove) {
      throw conflict(
        "Restart policy cannot be updated because AutoRemove is enabled for the container",
      );
    }
    next.RestartPolicy = {
      Name: u.RestartPolicy.Name,
      MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0,
    };
  }
  return next;
}

/** The OCI LinuxResources of the request (toContainerdResources: only what is set). */
export function linuxResources(u: UpdateConfig): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (u.BlkioWeight) r.blockIO = { weight: u.BlkioWeight };
  const cpu: Record<string, unknown> = {};
  if (u.CpusetCpus) cpu.cpus = u.CpusetCpus;
  if (u.CpusetMems) cpu.mems = u.CpusetMems;
  if (u.CpuShares) cpu.shares = u.CpuShares;
  let period = 0, quota = 0;
  if (u.NanoCpus) {
    period = 100_000;
    quota = Math.floor(u.NanoCpus * period / 1e9);
  }
  if (!quota && u.CpuQuota) quota = u.CpuQuota;
  if (!period && u.CpuPeriod) period = u.CpuPeriod;
  if (period) cpu.period = period;
  if (quota) cpu.quota = quota;
  if (Object.keys(cpu).length) r.cpu = cpu;
  const memory: Record<string, unknown> = {};
  if (u.Memory) memory.limit = u.Memory;
  if (u.MemoryReservation) memory.reservation = u.MemoryReservation;
  if ((u.MemorySwap ?? 0) > 0) memory.swap = u.MemorySwap;
  if (Object.keys(memory).length) r.memory = memory;
  // runc needs -1 to lift a pids limit.
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) {
    r.pids = { limit: u.PidsLimit <= 0 ? -1 : u.PidsLimit };
  }
  return r;
}

function parseBody(body: unknown, apiVersion: string): UpdateConfig {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("invalid update body: expected a JSON object");
  }
  const u = { ...body } as UpdateConfig;
  for (
    const k of [
      "Memory",
      "MemorySwap",
      "MemoryReservation",
      "NanoCpus",
      "CpuShares",
      "CpuPeriod",
      "CpuQuota",
      "BlkioWeight",
    ] as const
  ) {
    const v = u[k];
    if (v !== undefined && v !== null && !Number.isInteger(v)) {
      throw badRequest(`json: cannot unmarshal ${typeof v} into field ${k} of type int64`);
    }
  }
  if (compareVersions(apiVersion, "1.40") < 0) u.PidsLimit = undefined;
  // 0 and every negative value mean "unlimited", stored as 0.
  if (typeof u.PidsLimit === "number" && u.PidsLimit <= 0) u.PidsLimit = 0;
  return u;
}

export async function updateContainer(
  engine: Engine,
  ref: string,
  body: unknown,
  apiVersion: string,
): Promise<{ Warnings: string[] }> {
  const rec = engine.containers.get(ref);
  const u = parseBody(body, apiVersion);
  verify(u);
  const cannot = (e: unknown, status?: number) => {
    const st = status ?? (e instanceof ApiError ? e.status : 500);
    return new ApiError(st, `Cannot update container ${rec.Id}: ${(e as Error).message}`);
  };
  if (rec.State.Dead || rec.State.Status === "removing") {
    throw cannot(new Error('container is marked for removal and cannot be "update"'));
  }
  let host: HostConfig;
  try {
    host = mergeUpdate(rec.HostConfig, u);
  } catch (e) {
    throw cannot(e);
  }
  const before = rec.HostConfig;
  engine.containers.save({ ...engine.containers.get(rec.Id), HostConfig: host });
  try {
    const now = engine.containers.get(rec.Id);
    if (now.State.Running && !now.State.Restarting) {
      const resources = linuxResources(u);
      await engine.containerd.call("tasks", "Update", {
        container_id: rec.Id,
        resources: {
          type_url: RESOURCES_TYPE_URL,
          value: new TextEncoder().encode(JSON.stringify(resources)),
        },
      });
    }
  } catch (e) {
    const now = engine.containers.find(rec.Id);
    if (now && !now.State.Dead) engine.containers.save({ ...now, HostConfig: before });
    throw cannot(e, e instanceof ContainerdCallError ? 500 : undefined);
  } finally {
    const now = engine.containers.find(rec.Id);
    if (now) engine.events.publish(containerEvent(now, "update"));
  }
  return { Warnings: [] };
}

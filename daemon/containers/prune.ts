/**
 * `docker container prune`: removes the containers that are not running
 * (created before `until`, matching the `label` / `label!` filters) through
 * the life cycle's removal, as dockerd's ContainersPrune, and reports the
 * bytes their writable layers held. One prune at a time per daemon.
 */
import type { Engine } from "../engine.ts";
import { badRequest, conflict } from "../api/errors.ts";
import { getTimestamp, parseUnixTimestamp } from "../api/timestamps.ts";
import { matchKVList } from "../events_filter.ts";
import { sizeRw } from "./size.ts";

export type PruneFilters = Record<string, string[]>;

export interface ContainersPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

const running = new WeakSet<Engine>();

/** Runs `fn` unless another prune runs (dockerd's 409 "a prune operation is already running"). */
export async function exclusivePrune<T>(engine: Engine, fn: () => Promise<T>): Promise<T> {
  if (running.has(engine)) throw conflict("a prune operation is already running");
  running.add(engine);
  try {
    return await fn();
  } finally {
    running.delete(engine);
  }
}

/** Refuses filter keys outside `accepted` ("Invalid filter 'x'", as filters.Args.Validate). */
export function validateFilters(f: PruneFilters, accepted: string[]): void {
  for (const k of Object.keys(f)) {
    if (!accepted.includes(k)) throw badRequest(`Invalid filter '${k}'`);
  }
}

/** The `until` filter in milliseconds since the epoch (undefined without one). */
export function pruneUntil(f: PruneFilters): number | undefined {
  const until = f.until ?? [];
  if (!until.length) return undefined;
  if (until.length > 1) throw badRequest("more than one until filter specified");
  return Number(parseUnixTimestamp(getTimestamp(until[0])) / 1_000_000n);
}

/** `label` filters all match and no `label!` filter matches. */
export function matchLabels(f: PruneFilters, labels: Record<string, string>): boolean {
  if (!matchKVList(f.label, labels)) return false;
  return !f["label!"]?.length || !matchKVList(f["label!"], labels);
}

export async function pruneContainers(
  engine: Engine,
  filters: PruneFilters,
): Promise<ContainersPruneReport> {
  validateFilters(filters, ["until", "label", "label!"]);
  const until = pruneUntil(filters);
  return await exclusivePrune(engine, async () => {
    const report: ContainersPruneReport = { ContainersDeleted: null, SpaceReclaimed: 0 };
    for (const rec of engine.containers.all()) {
      if (rec.State.Running || rec.State.Restarting) continue;
      if (until !== undefined && Date.parse(rec.Created) > until) continue;
      if (!matchLabels(filters, rec.Config.Labels ?? {})) continue;
      const size = await sizeRw(engine, rec.Id);
      try {
        await engine.lifecycle.remove(rec.Id, { force: false });
      } catch (e) {
        engine.log.warn(`failed to prune container ${rec.Id}: ${(e as Error).message}`);
        continue;
      }
      report.SpaceReclaimed += size;
      (report.ContainersDeleted ??= []).push(rec.Id);
    }
    engine.events.publish({
      type: "container",
      action: "prune",
      id: "",
      attributes: { reclaimed: String(report.SpaceReclaimed) },
    });
    return report;
  });
}

/**
 * Disk use of containers (`docker ps -s`, `docker system df`): SizeRw is
 * what the container wrote (its snapshot's upper directory), SizeRootFs that
 * plus its image's layers, as dockerd's overlay2 driver counts them.
 */
import type { Engine } from "../engine.ts";
import type { ContainerRecord } from "./store.ts";

export interface ContainerSize {
  SizeRw: number;
  SizeRootFs: number;
}

/** Bytes written by the container (0 when its snapshot is gone). */
export async function sizeRw(engine: Engine, id: string): Promise<number> {
  try {
    return await engine.images.snapshots.usage(id);
  } catch {
    return 0;
  }
}

export async function containerSize(engine: Engine, rec: ContainerRecord): Promise<ContainerSize> {
  const rw = await sizeRw(engine, rec.Id);
  let image = 0;
  try {
    image = await engine.images.sizeOf(rec.Image);
  } catch { /* image record gone: only the container's own bytes */ }
  return { SizeRw: rw, SizeRootFs: rw + image };
}

/** The two fields as dockerd's JSON has them (omitempty: zeros are left out). */
export function sizeFields(s: ContainerSize): { SizeRw?: number; SizeRootFs?: number } {
  return {
    ...(s.SizeRw ? { SizeRw: s.SizeRw } : {}),
    ...(s.SizeRootFs ? { SizeRootFs: s.SizeRootFs } : {}),
  };
}

/**
 * `docker system df`: the disk use of images (with the bytes they share
 * with other images and how many containers use them), of containers (what
 * each wrote, and with its image) and of all layers together. berth has no
 * volumes or build cache yet: those lists are empty.
 */
import type { Engine } from "./engine.ts";
import { type ImageSummary, listImages } from "./images/mod.ts";
import type { ContainerSummary } from "./api/types.ts";
import type { ContainerRecord } from "./containers/store.ts";
import { containerSize, sizeFields } from "./containers/size.ts";

/** types.DiskUsage: a list that was not asked for is null. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: ContainerSummary[] | null;
  Volumes: unknown[] | null;
  BuildCache: unknown[] | null;
}

export type DiskUsageObject = "container" | "image" | "volume" | "build-cache";

export async function diskUsage(
  engine: Engine,
  want: Set<DiskUsageObject>,
  summary: (rec: ContainerRecord) => ContainerSummary,
): Promise<DiskUsage> {
  const out: DiskUsage = {
    LayersSize: 0,
    Images: null,
    Containers: null,
    Volumes: want.has("volume") ? [] : null,
    BuildCache: want.has("build-cache") ? [] : null,
  };
  if (want.has("image")) {
    const svc = engine.images;
    out.LayersSize = svc.snapshots.layers().reduce((n, l) => n + l.size, 0);
    const images = await listImages(svc, { all: true });
    // A layer counts as shared when more than one image stands on it.
    const chains = new Map<string, string[]>();
    const users = new Map<string, number>();
    for (const img of images) {
      const chain = await svc.chainOf(img.Id).catch(() => []);
      chains.set(img.Id, chain);
      for (const c of chain) users.set(c, (users.get(c) ?? 0) + 1);
    }
    for (const img of images) {
      img.SharedSize = (chains.get(img.Id) ?? [])
        .filter((c) => (users.get(c) ?? 0) > 1)
        .reduce((n, c) => n + (svc.snapshots.layer(c)?.size ?? 0), 0);
    }
    out.Images = images;
  }
  if (want.has("container")) {
    const recs = engine.containers.all()
      .sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    out.Containers = await Promise.all(recs.map(async (r) => ({
      ...summary(r),
      ...sizeFields(await containerSize(engine, r)),
    })));
  }
  return out;
}

/**
 * `docker image inspect`, `docker images` and `docker history`: Docker's
 * ImageInspect, ImageSummary and history shapes from the stored records,
 * configs and snapshots.
 */
import type { ImageHistoryItem, ImageInspect, ImageSummary } from "./api_types.ts";
import { invalid } from "./errors.ts";
import type { HistoryEntry } from "./oci_types.ts";
import type { ImageRecord } from "./image_store.ts";
import { familiarString, parseNormalized } from "./reference.ts";
import type { ImageService } from "./service.ts";
import { chainIds } from "./snapshots.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** GET /images/{name}/json */
export async function inspectImage(svc: ImageService, name: string): Promise<ImageInspect> {
  const record = svc.lookup(name);
  const config = await svc.configOf(record.id);
  const chain = chainIds(config.rootfs.diff_ids);
  const dirs = chain.map((c) => svc.snapshots.layer(c)).map((m) =>
    m ? svc.snapshots.fsPath(m) : ""
  );
  const size = await svc.sizeOf(record.id);
  const top = chain.length ? svc.snapshots.layer(chain[chain.length - 1]) : undefined;
  const graphData: Record<string, string> | null = top
    ? {
      ...(dirs.length > 1 ? { LowerDir: dirs.slice(0, -1).reverse().join(":") } : {}),
      MergedDir: `${svc.snapshots.dir(top)}/merged`,
      UpperDir: dirs[dirs.length - 1],
      WorkDir: `${svc.snapshots.dir(top)}/work`,
    }
    : null;
  return {
    Id: record.id,
    RepoTags: svc.repoTags(record.id),
    RepoDigests: svc.repoDigests(record.id),
    Parent: config.parent ?? "",
    Comment: config.comment ?? "",
    Created: config.created ?? ZERO_TIME,
    DockerVersion: config.docker_version ?? "",
    Author: config.author ?? "",
    Config: config.config ?? null,
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    ...(config["os.version"] ? { OsVersion: config["os.version"] } : {}),
    Size: size,
    GraphDriver: { Name: "overlay2", Data: graphData },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: record.lastTagTime ?? ZERO_TIME },
    Descriptor: record.target,
  };
}

export interface ListOptions {
  /** Show intermediate images too (berth has none; accepted for the API). */
  all?: boolean;
  /** Docker's filters: dangling, reference, label, before, since. */
  filters?: Record<string, string[]>;
}

function wildcard(pattern: string): RegExp {
  // path.Match-like: `*` does not cross `/`.
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(
    /\?/g,
    "[^/]",
  );
  return new RegExp(`^${re}$`);
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf("=");
  if (i === -1) return filter in labels;
  return labels[filter.slice(0, i)] === filter.slice(i + 1);
}

/** A pattern in familiar form when it is a reference (`docker.io/library/x` → `x`). */
function familiar(pattern: string): string {
  try {
    return familiarString(parseNormalized(pattern));
  } catch {
    return pattern; // a pattern with wildcards is no reference
  }
}

/** GET /images/json */
export async function listImages(
  svc: ImageService,
  opts: ListOptions = {},
): Promise<ImageSummary[]> {
  const f = opts.filters ?? {};
  for (const key of Object.keys(f)) {
    if (!["dangling", "reference", "label", "before", "since", "until"].includes(key)) {
      throw invalid(`invalid filter '${key}'`);
    }
  }
  const dangling = f.dangling?.[0];
  if (dangling !== undefined && !["true", "false", "1", "0"].includes(dangling)) {
    throw invalid(`invalid filter 'dangling=${dangling}'`);
  }
  const createdOf = async (r: ImageRecord) =>
    Date.parse((await svc.configOf(r.id)).created ?? "") || 0;
  const before = f.before?.length ? await createdOf(svc.lookup(f.before[0])) : undefined;
  const since = f.since?.length ? await createdOf(svc.lookup(f.since[0])) : undefined;

  const out: ImageSummary[] = [];
  for (const record of svc.images.all()) {
    const config = await svc.configOf(record.id);
    const tags = svc.repoTags(record.id);
    const labels = config.config?.Labels ?? {};
    const created = Date.parse(config.created ?? "") || 0;
    if (dangling !== undefined) {
      const want = dangling === "true" || dangling === "1";
      if (want !== (tags.length === 0)) continue;
    }
    if (f.label && !f.label.every((l) => labelMatches(labels, l))) continue;
    if (before !== undefined && created >= before) continue;
    if (since !== undefined && created <= since) continue;
    let shownTags = tags;
    if (f.reference?.length) {
      shownTags = tags.filter((t) =>
        f.reference.some((p) => {
          const name = t.slice(0, t.lastIndexOf(":"));
          return wildcard(p).test(t) || wildcard(p).test(name) || wildcard(familiar(p)).test(t);
        })
      );
      if (shownTags.length === 0) continue;
    }
    const size = await svc.sizeOf(record.id);
    out.push({
      Id: record.id,
      ParentId: config.parent ?? "",
      RepoTags: shownTags,
      RepoDigests: svc.repoDigests(record.id),
      Created: Math.floor(created / 1000),
      Size: size,
      SharedSize: -1,
      Labels: labels,
      Containers: svc.containersUsing(record.id).length,
      Descriptor: record.target,
    });
  }
  out.sort((a, b) => b.Created - a.Created);
  return out;
}

/** GET /images/{name}/history (newest first, as Docker answers). */
export async function imageHistory(svc: ImageService, name: string): Promise<ImageHistoryItem[]> {
  const record = svc.lookup(name);
  const config = await svc.configOf(record.id);
  const chain = chainIds(config.rootfs.diff_ids);
  const history: HistoryEntry[] = config.history ?? config.rootfs.diff_ids.map(() => ({}));
  const items: ImageHistoryItem[] = [];
  let layer = 0;
  for (const h of history) {
    let size = 0;
    if (!h.empty_layer) {
      size = svc.snapshots.layer(chain[layer])?.size ?? 0;
      layer++;
    }
    items.push({
      Id: "<missing>",
      Created: Math.floor((Date.parse(h.created ?? "") || 0) / 1000),
      CreatedBy: h.created_by ?? "",
      Tags: null,
      Size: size,
      Comment: h.comment ?? "",
    });
  }
  items.reverse();
  if (items.length) {
    items[0].Id = record.id;
    items[0].Tags = svc.repoTags(record.id);
  }
  return items;
}

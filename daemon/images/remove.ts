/**
 * `docker rmi` and `docker image prune`, with dockerd's rules: removing by
 * name untags (and deletes the image only with its last reference); by id
 * deletes, refusing an image referenced from several repositories unless
 * forced, and one used by a container (a running one even when forced).
 * Layers go when no image or container uses them any more; blobs with them.
 */
import type { ImageDeleteResponseItem, ImagesPruneReport } from "./api_types.ts";
import { shortId } from "./digest.ts";
import { conflict, invalid, noSuchImage } from "./errors.ts";
import {
  familiarString,
  isFullImageId,
  parseNormalized,
  type Reference,
  ReferenceError,
  referenceString,
  repositoryName,
  withDefaultTag,
} from "./reference.ts";
import type { ImageService } from "./service.ts";

export interface RemoveOptions {
  force?: boolean;
  /** Also remove untagged parents (berth's images have none; accepted for the API). */
  noPrune?: boolean;
}

function isIdReference(svc: ImageService, name: string, id: string): boolean {
  const hex = id.slice(7);
  const n = name.replace(/^sha256:/, "");
  if (isFullImageId(name)) return true;
  // A name that is a prefix of the id and does not name a tag is an id reference.
  if (!hex.startsWith(n)) return false;
  try {
    return svc.images.resolve(referenceString(withDefaultTag(parseNormalized(name)))) === undefined;
  } catch {
    return true;
  }
}

const repoOf = (ref: string) => repositoryName(parseNormalized(ref));

/** True when every reference is in one repository (dockerd's isSingleReference). */
function singleRepository(refs: string[]): boolean {
  return new Set(refs.map(repoOf)).size <= 1;
}

/** DELETE /images/{name} */
export async function removeImage(
  svc: ImageService,
  name: string,
  opts: RemoveOptions = {},
): Promise<ImageDeleteResponseItem[]> {
  const record = svc.lookup(name);
  const id = record.id;
  const records: ImageDeleteResponseItem[] = [];
  const users = svc.containersUsing(id);
  const running = users.find((u) => u.running);
  const force = opts.force ?? false;

  if (!isIdReference(svc, name, id)) {
    let ref: Reference;
    try {
      ref = parseNormalized(name);
    } catch (e) {
      if (e instanceof ReferenceError) throw invalid(e.message);
      throw e;
    }
    // By digest with no tag: the stored digest reference; else the tag.
    const full = referenceString(ref.digest && !ref.tag ? ref : withDefaultTag(ref));
    const refs = svc.images.referencesOf(id);
    if (!refs.includes(full)) throw noSuchImage(familiarString(withDefaultTag(ref)));
    if (!force && singleRepository(refs) && users.length) {
      throw conflict(
        `conflict: unable to remove repository reference "${name}" (must force) - container ${
          shortId(users[0].id)
        } is using its referenced image ${shortId(id)}`,
      );
    }
    const removed: string[] = [full];
    // A tag whose repository keeps only digest references takes those along.
    if (!full.includes("@")) {
      const repo = repoOf(full);
      const rest = refs.filter((r) => r !== full && repoOf(r) === repo);
      if (!rest.some((r) => !r.includes("@"))) removed.push(...rest);
    }
    svc.images.update((tx) => removed.forEach((r) => tx.deleteReference(r)));
    for (const r of removed) records.push({ Untagged: familiarString(parseNormalized(r)) });
    if (svc.images.referencesOf(id).length > 0) return records;
    // The last reference is gone: delete the image unless a container keeps it.
    if (running || (!force && users.length)) return records;
  } else {
    const refs = svc.images.referencesOf(id);
    if (running) {
      throw conflict(
        `conflict: unable to delete ${
          shortId(id)
        } (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
      );
    }
    if (!force) {
      if (!singleRepository(refs)) {
        throw conflict(
          `conflict: unable to delete ${
            shortId(id)
          } (must be forced) - image is referenced in multiple repositories`,
        );
      }
      if (users.length) {
        throw conflict(
          `conflict: unable to delete ${
            shortId(id)
          } (must be forced) - image is being used by stopped container ${shortId(users[0].id)}`,
        );
      }
    }
    for (const r of refs) records.push({ Untagged: familiarString(parseNormalized(r)) });
  }
  records.push(...await deleteImage(svc, id));
  return records;
}

/** Deletes an image record with its references, then the layers and blobs nothing else uses. */
async function deleteImage(svc: ImageService, id: string): Promise<ImageDeleteResponseItem[]> {
  svc.images.update((tx) => tx.deleteImage(id));
  const out: ImageDeleteResponseItem[] = [{ Deleted: id }];
  for (const l of await svc.removeUnusedLayers()) out.push({ Deleted: l.chainId });
  await svc.removeUnusedContent();
  return out;
}

export interface PruneOptions {
  /** `docker image prune -a`: every image no container uses, not only dangling ones. */
  all?: boolean;
  /** Docker's prune filters: until (timestamp or duration), label, label!. */
  filters?: Record<string, string[]>;
}

function parseUntil(s: string): number {
  const dur = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(s);
  if (dur) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
    return Date.now() - Number(dur[1]) * unit[dur[2]];
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalid(`invalid filter 'until=${s}'`);
  return t;
}

/** POST /images/prune */
export async function pruneImages(
  svc: ImageService,
  opts: PruneOptions = {},
): Promise<ImagesPruneReport> {
  const f = opts.filters ?? {};
  for (const key of Object.keys(f)) {
    if (!["until", "label", "label!", "dangling"].includes(key)) {
      throw invalid(`invalid filter '${key}'`);
    }
  }
  const all = opts.all || f.dangling?.[0] === "false" || f.dangling?.[0] === "0";
  const until = f.until?.length ? parseUntil(f.until[0]) : undefined;
  const deleted: ImageDeleteResponseItem[] = [];
  let reclaimed = 0;
  const layersBefore = new Map(svc.snapshots.layers().map((l) => [l.key, l.size]));
  for (const record of svc.images.all()) {
    const id = record.id;
    if (!svc.images.get(id)) continue;
    if (svc.containersUsing(id).length) continue;
    const refs = svc.images.referencesOf(id);
    // Dangling: no tag (digest references alone do not keep an image, as in dockerd).
    if (!all && refs.some((r) => !r.includes("@"))) continue;
    const config = await svc.configOf(id);
    const labels = config.config?.Labels ?? {};
    const created = Date.parse(config.created ?? "") || 0;
    if (until !== undefined && created >= until) continue;
    if (f.label && !f.label.every((l) => hasLabel(labels, l))) continue;
    if (f["label!"] && f["label!"].some((l) => hasLabel(labels, l))) continue;
    for (const r of refs) deleted.push({ Untagged: familiarString(parseNormalized(r)) });
    svc.images.update((tx) => tx.deleteImage(id));
    deleted.push({ Deleted: id });
  }
  for (const l of await svc.removeUnusedLayers()) {
    deleted.push({ Deleted: l.chainId });
    reclaimed += layersBefore.get(l.chainId) ?? l.size;
  }
  await svc.removeUnusedContent({ partialDownloads: true });
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}

function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf("=");
  return i === -1 ? filter in labels : labels[filter.slice(0, i)] === filter.slice(i + 1);
}

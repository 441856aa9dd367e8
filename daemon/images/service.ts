/**
 * The image service of dockerd: one object that owns the content store, the
 * snapshots and the image records under one root (`<data-root>/image`), and
 * offers what the Engine API's image routes need. Each operation lives in its
 * own module (pull.ts, inspect.ts, remove.ts, save.ts, load.ts); this file
 * holds the shared state, lookups, tags and container root filesystems.
 *
 * At start it removes what a crash left half-done: temp files, snapshots not
 * used by any image or container.
 */
import { ContentStore } from "./content_store.ts";
import { type ImageRecord, ImageStore } from "./image_store.ts";
import { chainIds, type Mount, SnapshotStore } from "./snapshots.ts";
import { ImageError, invalid, noSuchImage } from "./errors.ts";
import type { ImageConfig, ImageManifest, Platform } from "./oci_types.ts";
import { hostPlatform } from "./platform.ts";
import {
  familiarString,
  isFullImageId,
  parseNormalized,
  type Reference,
  ReferenceError,
  referenceString,
  repositoryName,
  validateTag,
  withDefaultTag,
} from "./reference.ts";
import { defaultDockerConfigPath } from "./registry/credentials.ts";

/** A container that uses an image (for the conflicts of `docker rmi`). */
export interface ContainerUse {
  id: string;
  running: boolean;
}

export interface ImageServiceOptions {
  /** Where blobs, snapshots and image records live. */
  root: string;
  registryMirrors?: string[];
  insecureRegistries?: string[];
  /** config.json with registry `auths`; null for none (default: the user's). */
  dockerConfigPath?: string | null;
  /** Platform pulled from multi-platform images (default: the host's). */
  platform?: Platform;
  /** The containers using an image id (none when not given). */
  containersUsing?: (imageId: string) => ContainerUse[];
}

export interface ResolvedImage {
  record: ImageRecord;
  manifest: ImageManifest;
  config: ImageConfig;
}

export class ImageService {
  readonly content: ContentStore;
  readonly snapshots: SnapshotStore;
  readonly images: ImageStore;
  readonly platform: Platform;
  readonly dockerConfigPath: string | undefined;
  #configs = new Map<string, ImageConfig>();
  #manifests = new Map<string, ImageManifest>();
  /** Chain ids a pull or load in progress is building on (kept from removal). */
  readonly leases = new Map<string, number>();
  /** Layer downloads in progress by blob digest (one download per blob at a time). */
  readonly downloads = new Map<string, Promise<void>>();
  /** Pulls and loads in progress: they write blobs no image references yet. */
  #writers = 0;

  constructor(readonly options: ImageServiceOptions) {
    Deno.mkdirSync(options.root, { recursive: true, mode: 0o700 });
    this.content = new ContentStore(`${options.root}/content`);
    this.snapshots = new SnapshotStore(`${options.root}/snapshots`);
    this.images = new ImageStore(`${options.root}/images.json`);
    this.platform = options.platform ?? hostPlatform();
    this.dockerConfigPath = options.dockerConfigPath === null
      ? undefined
      : options.dockerConfigPath ?? defaultDockerConfigPath();
    const tmp = `${options.root}/tmp`;
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch { /* none */ }
  }

  /** Removes snapshots that no image and no container uses (what a crash mid-pull leaves). */
  async init(): Promise<void> {
    await this.removeUnusedLayers();
  }

  /** A scratch directory on the same file system (removed at the next start). */
  async tempDir(): Promise<string> {
    await Deno.mkdir(`${this.options.root}/tmp`, { recursive: true, mode: 0o700 });
    return await Deno.makeTempDir({ dir: `${this.options.root}/tmp` });
  }

  containersUsing(imageId: string): ContainerUse[] {
    return this.options.containersUsing?.(imageId) ?? [];
  }

  async manifestOf(record: ImageRecord): Promise<ImageManifest> {
    const m = this.#manifests.get(record.target.digest) ??
      await this.content.readJson<ImageManifest>(record.target.digest);
    this.#manifests.set(record.target.digest, m);
    return m;
  }

  async configOf(id: string): Promise<ImageConfig> {
    const c = this.#configs.get(id) ?? await this.content.readJson<ImageConfig>(id);
    this.#configs.set(id, c);
    return c;
  }

  async resolveImage(record: ImageRecord): Promise<ResolvedImage> {
    return {
      record,
      manifest: await this.manifestOf(record),
      config: await this.configOf(record.id),
    };
  }

  /** The chain ids of an image's layers, bottom first. */
  async chainOf(id: string): Promise<string[]> {
    return chainIds((await this.configOf(id)).rootfs.diff_ids);
  }

  /**
   * Finds an image as dockerd does: a full id (`sha256:…` or 64 hex), a
   * reference (`busybox`, `busybox:1`, `repo@sha256:…`), or an id prefix.
   */
  lookup(refOrId: string): ImageRecord {
    const byId = (id: string) => this.images.get(id);
    if (isFullImageId(refOrId)) {
      const id = refOrId.startsWith("sha256:") ? refOrId : `sha256:${refOrId}`;
      const r = byId(id);
      if (r) return r;
      throw noSuchImage(refOrId);
    }
    let ref: Reference | undefined;
    try {
      ref = parseNormalized(refOrId);
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
      if (!/^(sha256:)?[a-f0-9]+$/.test(refOrId)) throw invalid(e.message);
    }
    if (ref) {
      const id = this.images.resolve(referenceString(withDefaultTag(ref)));
      if (id && byId(id)) return byId(id)!;
      // A digest reference also finds the image whose manifest has that digest.
      if (ref.digest && !ref.tag) {
        const name = repositoryName(ref);
        const hit = this.images.all().find((r) =>
          r.target.digest === ref!.digest &&
          this.images.referencesOf(r.id).some((x) =>
            x.startsWith(name + ":") || x.startsWith(name + "@")
          )
        );
        if (hit) return hit;
      }
    }
    const prefix = refOrId.replace(/^sha256:/, "");
    if (/^[a-f0-9]+$/.test(prefix)) {
      const hits = this.images.ids().filter((id) => id.slice(7).startsWith(prefix));
      if (hits.length === 1) return byId(hits[0])!;
      if (hits.length > 1) {
        throw invalid(`ambiguous image id ${refOrId}: more than one image matches`);
      }
    }
    throw noSuchImage(ref ? familiarString(withDefaultTag(ref)) : refOrId);
  }

  /** Tags (`repo:tag`) and digests (`repo@sha256:…`) of an image, familiar form. */
  repoTags(id: string): string[] {
    return this.images.referencesOf(id).filter((r) => !r.includes("@")).map((r) =>
      familiarString(parseReferenceString(r))
    );
  }

  repoDigests(id: string): string[] {
    return this.images.referencesOf(id).filter((r) => r.includes("@")).map((r) =>
      familiarString(parseReferenceString(r))
    );
  }

  /**
   * `docker tag SOURCE REPO[:TAG]` (POST /images/{name}/tag?repo=&tag=):
   * moves the tag to the source image.
   */
  tag(source: string, repo: string, tag?: string): string {
    const record = this.lookup(source);
    let ref: Reference;
    try {
      ref = parseNormalized(repo);
      if (ref.digest) throw invalid("refusing to create a tag with a digest reference");
      if (tag) ref = { domain: ref.domain, path: ref.path, tag: validateTag(tag) };
      else ref = withDefaultTag(ref);
    } catch (e) {
      if (e instanceof ReferenceError) throw invalid(e.message);
      throw e;
    }
    if (ref.path === "sha256" || ref.path.endsWith("/sha256") && ref.domain === "docker.io") {
      throw invalid("refusing to create an ambiguous tag using digest algorithm as name");
    }
    const full = referenceString(ref);
    this.images.update((tx) => {
      tx.setReference(full, record.id);
      tx.putImage({ ...tx.get(record.id)!, lastTagTime: new Date().toISOString() });
    });
    return familiarString(ref);
  }

  /**
   * Prepares a container's root filesystem on `image`: a writable snapshot
   * named `containerId` and the mounts that assemble it (overlay with the
   * image's layers as lowerdir; not mounted here).
   */
  async prepareRootfs(containerId: string, image: string): Promise<Mount[]> {
    const record = this.lookup(image);
    const chain = await this.chainOf(record.id);
    return await this.snapshots.prepare(containerId, chain[chain.length - 1], {
      image: record.id,
    });
  }

  /** The mounts of a container's root filesystem made by {@link prepareRootfs}. */
  rootfsMounts(containerId: string): Mount[] {
    return this.snapshots.mounts(containerId);
  }

  /** Removes a container's writable layer (it must not be mounted). */
  async removeRootfs(containerId: string): Promise<void> {
    await this.snapshots.removeActive(containerId);
  }

  /** Size in bytes of an image's layers. */
  async sizeOf(id: string): Promise<number> {
    let size = 0;
    for (const c of await this.chainOf(id)) size += this.snapshots.layer(c)?.size ?? 0;
    return size;
  }

  /** Marks a pull or load in progress (see {@link removeUnusedContent}); returns its end. */
  beginWrite(): () => void {
    this.#writers++;
    let done = false;
    return () => {
      if (!done) this.#writers--;
      done = true;
    };
  }

  /** Takes a lease on chain ids so concurrent removals keep them. */
  lease(chain: string[]): () => void {
    for (const c of chain) this.leases.set(c, (this.leases.get(c) ?? 0) + 1);
    return () => {
      for (const c of chain) {
        const n = (this.leases.get(c) ?? 1) - 1;
        if (n <= 0) this.leases.delete(c);
        else this.leases.set(c, n);
      }
    };
  }

  /**
   * Removes layer snapshots that no image, container or operation in progress
   * uses; returns the removed chain ids with their sizes.
   */
  async removeUnusedLayers(): Promise<{ chainId: string; size: number }[]> {
    const used = this.snapshots.layersInUse();
    for (const c of this.leases.keys()) used.add(c);
    for (const r of this.images.all()) {
      try {
        for (const c of await this.chainOf(r.id)) used.add(c);
      } catch (e) {
        // An image whose config cannot be read keeps nothing alive, but say so.
        console.error(`images: cannot read the config of ${r.id}: ${(e as Error).message}`);
      }
    }
    const removed: { chainId: string; size: number }[] = [];
    // Top layers first: a parent goes only after its children.
    let progress = true;
    while (progress) {
      progress = false;
      for (const m of this.snapshots.layers()) {
        if (used.has(m.key)) continue;
        const isParent = this.snapshots.layers().some((o) => o.parent === m.key);
        if (isParent) continue;
        await this.snapshots.removeLayer(m.key);
        removed.push({ chainId: m.key, size: m.size });
        progress = true;
      }
    }
    return removed;
  }

  /**
   * Removes blobs that no image references (manifests, configs and layers of
   * removed images) and, with `partialDownloads`, what failed pulls left to
   * resume from.
   */
  async removeUnusedContent(opts: { partialDownloads?: boolean } = {}): Promise<number> {
    // Blobs of a pull or load in progress are not referenced yet: sweep later.
    if (this.#writers > 0) return 0;
    if (opts.partialDownloads) await this.content.clearIngests();
    const keep = new Set<string>();
    for (const r of this.images.all()) {
      keep.add(r.target.digest);
      keep.add(r.id);
      try {
        for (const l of (await this.manifestOf(r)).layers) keep.add(l.digest);
      } catch { /* unreadable: keeps nothing more */ }
      for (const extra of r.indexDigests ?? []) keep.add(extra);
    }
    let freed = 0;
    for (const d of this.content.list()) {
      if (keep.has(d)) continue;
      freed += this.content.stat(d) ?? 0;
      await this.content.delete(d);
      this.#manifests.delete(d);
      this.#configs.delete(d);
    }
    return freed;
  }
}

/** Parses a stored (full) reference. */
export function parseReferenceString(s: string): Reference {
  return parseNormalized(s);
}

export { ImageError };

/**
 * `docker pull`: resolve a reference on its registry, choose the platform's
 * manifest from an index, download the config and the layers (three at a
 * time, each resumable with Range requests and verified against its
 * digest), unpack the layers in order into shared snapshots, and record the
 * image with its tag and repo digest — reporting progress as dockerd's JSON
 * stream does. Nothing is recorded unless every part verified.
 */
import type { AuthConfig } from "./api_types.ts";
import { sha256Digest, shortId } from "./digest.ts";
import { DigestMismatchError, ImageError, invalid } from "./errors.ts";
import type { ImageRecord } from "./image_store.ts";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  INDEX_MEDIA_TYPES,
  LAYER_MEDIA_TYPES,
  type Platform,
} from "./oci_types.ts";
import { parsePlatform, selectManifest } from "./platform.ts";
import { discardProgress, layerStatus, type ProgressSink, Throttle } from "./progress.ts";
import {
  familiarName,
  familiarString,
  parseNormalized,
  type Reference,
  ReferenceError,
  referenceString,
  repositoryName,
  withDefaultTag,
} from "./reference.ts";
import { RepositoryClient } from "./registry/client.ts";
import { resolveCredentials } from "./registry/credentials.ts";
import { endpointsFor } from "./registry/endpoints.ts";
import type { ImageService } from "./service.ts";
import { chainIds } from "./snapshots.ts";
import { applyLayer } from "./unpack/apply_layer.ts";

export interface PullOptions {
  /** `busybox`, `busybox:1.36`, `host:5000/repo@sha256:…`. */
  ref: string;
  /** `os/arch[/variant]`; default: the service's platform. */
  platform?: string;
  /** The request's X-Registry-Auth, decoded. */
  auth?: AuthConfig;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface PullResult {
  record: ImageRecord;
  /** The reference as recorded (full form). */
  reference: string;
  /** False when the image was already there. */
  downloaded: boolean;
}

/** Layer downloads at once (dockerd's max-concurrent-downloads default is 3). */
export const MAX_CONCURRENT_DOWNLOADS = 3;
const MAX_ATTEMPTS = 5;

export async function pull(svc: ImageService, opts: PullOptions): Promise<PullResult> {
  const done = svc.beginWrite();
  try {
    return await pullImage(svc, opts);
  } finally {
    done();
  }
}

async function pullImage(svc: ImageService, opts: PullOptions): Promise<PullResult> {
  const progress = opts.progress ?? discardProgress;
  let ref: Reference;
  try {
    ref = withDefaultTag(parseNormalized(opts.ref));
  } catch (e) {
    if (e instanceof ReferenceError) throw invalid(e.message);
    throw e;
  }
  const platform: Platform = opts.platform ? parsePlatform(opts.platform) : svc.platform;
  const client = new RepositoryClient({
    repository: ref.path,
    familiarName: familiarName(ref),
    endpoints: endpointsFor(ref.domain, svc.options),
    credentials: resolveCredentials(ref.domain, opts.auth, svc.dockerConfigPath),
    signal: opts.signal,
  });

  progress({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag });
  const top = await client.manifest(ref.digest ?? ref.tag!);
  const jsonOf = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

  const blobsToStore: [Uint8Array, string][] = [[top.bytes, top.digest]];
  let manifestDesc: Descriptor = {
    mediaType: top.mediaType,
    digest: top.digest,
    size: top.bytes.length,
  };
  let manifest: ImageManifest;
  const indexDigests: string[] = [];
  if (INDEX_MEDIA_TYPES.includes(top.mediaType)) {
    const index = jsonOf<ImageIndex>(top.bytes);
    if (!Array.isArray(index.manifests)) throw invalid(`index ${top.digest} has no manifests`);
    const chosen = selectManifest(index.manifests, platform);
    const m = await client.manifest(chosen.digest);
    if (INDEX_MEDIA_TYPES.includes(m.mediaType)) {
      throw invalid(`manifest ${chosen.digest}: nested indexes are not supported`);
    }
    blobsToStore.push([m.bytes, m.digest]);
    manifestDesc = {
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.bytes.length,
      platform: chosen.platform,
    };
    manifest = jsonOf<ImageManifest>(m.bytes);
    indexDigests.push(top.digest);
  } else {
    manifest = jsonOf<ImageManifest>(top.bytes);
  }
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
    throw invalid(`manifest ${manifestDesc.digest} is not an image manifest`);
  }
  for (const l of manifest.layers) {
    if (!LAYER_MEDIA_TYPES.includes(l.mediaType)) {
      throw invalid(`layer ${l.digest}: unsupported media type ${l.mediaType}`);
    }
  }

  // The config: small, fetched whole and verified.
  const id = manifest.config.digest;
  let config: ImageConfig;
  if (svc.content.has(id)) {
    config = await svc.content.readJson<ImageConfig>(id);
  } else {
    const res = await client.blob(id);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = sha256Digest(bytes);
    if (got !== id) {
      throw new DigestMismatchError(id, got, "image config");
    }
    config = jsonOf<ImageConfig>(bytes);
    blobsToStore.push([bytes, id]);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw invalid(
      `image config ${id} lists ${diffIds.length} layers, its manifest ${manifest.layers.length}`,
    );
  }
  const chain = chainIds(diffIds);
  const release = svc.lease(chain);
  try {
    const existed = svc.images.get(id) !== undefined &&
      chain.every((c) => svc.snapshots.layer(c) !== undefined) &&
      manifest.layers.every((l) => svc.content.has(l.digest));

    await fetchAndUnpack(svc, client, manifest.layers, diffIds, chain, progress);

    for (const [bytes, digest] of blobsToStore) await svc.content.write(bytes, digest);
    const full = referenceString(ref);
    const repoDigest = `${repositoryName(ref)}@${top.digest}`;
    const record = svc.images.update((tx) => {
      const old = tx.get(id);
      const rec: ImageRecord = old
        ? {
          ...old,
          indexDigests: [...new Set([...(old.indexDigests ?? []), ...indexDigests])],
        }
        : {
          id,
          target: manifestDesc,
          stored: new Date().toISOString(),
          ...(indexDigests.length ? { indexDigests } : {}),
        };
      if (!old || old.target.digest !== manifestDesc.digest) rec.target = manifestDesc;
      tx.putImage(rec);
      if (ref.tag !== undefined) {
        tx.setReference(full, id);
        rec.lastTagTime ??= new Date().toISOString();
      }
      tx.setReference(repoDigest, id);
      return rec;
    });
    progress({ status: `Digest: ${top.digest}` });
    const shown = familiarString(ref);
    progress({
      status: existed
        ? `Status: Image is up to date for ${shown}`
        : `Status: Downloaded newer image for ${shown}`,
    });
    return { record, reference: full, downloaded: !existed };
  } finally {
    release();
  }
}

/** Downloads missing layer blobs (at most three at once) and unpacks them in order. */
async function fetchAndUnpack(
  svc: ImageService,
  client: RepositoryClient,
  layers: Descriptor[],
  diffIds: string[],
  chain: string[],
  progress: ProgressSink,
): Promise<void> {
  const throttle = new Throttle(progress);
  const ids = layers.map((l) => shortId(l.digest));
  const needUnpack = chain.map((c) => svc.snapshots.layer(c) === undefined);
  const needBlob = layers.map((l) => !svc.content.has(l.digest));
  layers.forEach((_, i) => {
    if (!needUnpack[i] && !needBlob[i]) progress(layerStatus(ids[i], "Already exists"));
    else progress(layerStatus(ids[i], "Pulling fs layer"));
  });

  const slots = new Semaphore(MAX_CONCURRENT_DOWNLOADS);
  const controller = new AbortController();
  const downloads = layers.map((l, i) => {
    if (!needBlob[i]) return Promise.resolve();
    if (slots.busy) progress(layerStatus(ids[i], "Waiting"));
    const running = svc.downloads.get(l.digest);
    if (running) {
      // Another pull is fetching this blob: wait for it.
      progress(layerStatus(ids[i], "Waiting"));
      return running.then(() => progress(layerStatus(ids[i], "Download complete")));
    }
    const p = slots.run(async () => {
      if (controller.signal.aborted) throw new Error("aborted");
      await downloadLayer(svc, client, l, ids[i], throttle, progress);
    }).finally(() => svc.downloads.delete(l.digest));
    svc.downloads.set(l.digest, p);
    return p;
  });
  // Failures surface in layer order, but none is left unobserved.
  downloads.forEach((p) => p.catch(() => controller.abort()));

  for (let i = 0; i < layers.length; i++) {
    await downloads[i];
    if (!needUnpack[i]) {
      if (needBlob[i]) progress(layerStatus(ids[i], "Pull complete"));
      continue;
    }
    const total = layers[i].size;
    await svc.snapshots.ensureLayer(
      chain[i],
      i ? chain[i - 1] : undefined,
      diffIds[i],
      async (dir) => {
        const r = await applyLayer(await svc.content.openVerified(layers[i].digest), dir, {
          onProgress: (n) => throttle.progress(ids[i], "Extracting", n, total),
        });
        return r;
      },
    );
    progress(layerStatus(ids[i], "Pull complete"));
  }
  await Promise.all(downloads);
}

/** One layer blob into the content store, resuming with Range after a broken transfer. */
async function downloadLayer(
  svc: ImageService,
  client: RepositoryClient,
  desc: Descriptor,
  id: string,
  throttle: Throttle,
  progress: ProgressSink,
): Promise<void> {
  const ingest = await svc.content.openIngest(desc.digest, desc.size);
  try {
    for (let attempt = 1;; attempt++) {
      try {
        const res = await client.blob(desc.digest, ingest.offset);
        if (res.status === 416) {
          await res.body?.cancel();
          if (ingest.offset !== desc.size) await ingest.reset();
          if (ingest.offset === desc.size) break;
          continue;
        }
        if (res.status === 200 && ingest.offset > 0) await ingest.reset(); // no range support
        if (!res.body) throw new ImageError("unavailable", `blob ${desc.digest}: empty answer`);
        throttle.progress(id, "Downloading", ingest.offset, desc.size, true);
        for await (const chunk of res.body) {
          await ingest.write(chunk);
          throttle.progress(id, "Downloading", ingest.offset, desc.size);
        }
        if (ingest.offset < desc.size) {
          throw new ImageError("unavailable", `blob ${desc.digest}: connection closed early`);
        }
        break;
      } catch (e) {
        const retriable = !(e instanceof ImageError) || e.kind === "unavailable";
        if (!retriable || attempt >= MAX_ATTEMPTS || client.opts.signal?.aborted) throw e;
        const wait = Math.min(5, attempt);
        progress(layerStatus(id, `Retrying in ${wait} second${wait === 1 ? "" : "s"}`));
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    }
    progress(layerStatus(id, "Verifying Checksum"));
    await ingest.commit();
    progress(layerStatus(id, "Download complete"));
  } finally {
    ingest.close();
  }
}

/** At most `n` tasks at once. */
class Semaphore {
  #active = 0;
  #queue: (() => void)[] = [];
  constructor(private n: number) {}
  get busy(): boolean {
    return this.#active >= this.n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.n) await new Promise<void>((r) => this.#queue.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }
}

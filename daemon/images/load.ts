/**
 * `docker load`: a `docker save` archive (manifest.json with its configs and
 * layer tars, old layouts with `<id>/layer.tar` included) or an OCI image
 * layout tar (index.json, blobs). The tar (maybe gzip or zstd compressed) is
 * unpacked into a scratch directory, entries that would leave it refused;
 * blobs go into the content store verified, layers into snapshots, and the
 * image is recorded with its tags. Output is Docker's JSON stream
 * (`{"stream":"Loaded image: busybox:latest\n"}`).
 */
import tar from "tar-stream";
import { fileDigest, sha256Digest, shortId } from "./digest.ts";
import { ImageError, invalid } from "./errors.ts";
import type { ImageRecord } from "./image_store.ts";
import {
  Annotation,
  type Descriptor,
  type DockerArchiveManifestEntry,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  INDEX_MEDIA_TYPES,
  MediaType,
} from "./oci_types.ts";
import { selectManifest } from "./platform.ts";
import { discardProgress, layerProgress, type ProgressSink } from "./progress.ts";
import { familiarString, parseNormalized, referenceString, withDefaultTag } from "./reference.ts";
import type { ImageService } from "./service.ts";
import { chainIds } from "./snapshots.ts";
import { applyLayer, cleanEntryName } from "./unpack/apply_layer.ts";
import { decompressed, detectCompression } from "./unpack/decompress.ts";

export interface LoadResult {
  /** Image ids loaded, in archive order. */
  ids: string[];
  /** Familiar tags set. */
  tags: string[];
}

/** POST /images/load */
export async function loadImages(
  svc: ImageService,
  input: ReadableStream<Uint8Array>,
  progress: ProgressSink = discardProgress,
): Promise<LoadResult> {
  const dir = await svc.tempDir();
  const done = svc.beginWrite();
  try {
    await extractArchive(input, dir);
    const has = (p: string) => {
      try {
        Deno.statSync(`${dir}/${p}`);
        return true;
      } catch {
        return false;
      }
    };
    if (has("manifest.json")) return await loadDockerArchive(svc, dir, progress);
    if (has("index.json")) return await loadOciLayout(svc, dir, progress);
    throw invalid(
      "invalid archive: it has neither manifest.json (docker save) nor index.json (OCI layout)",
    );
  } finally {
    done();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Writes the archive's files and directories (and symlinks, for old archives) under `dir`. */
async function extractArchive(input: ReadableStream<Uint8Array>, dir: string): Promise<void> {
  const { output } = await decompressed(input);
  const extract = tar.extract();
  const feed = (async () => {
    for await (const chunk of output) {
      if (!extract.write(chunk)) await new Promise<void>((r) => extract.once("drain", () => r()));
    }
    (extract as unknown as { end(): void }).end();
  })().catch((e) => {
    extract.destroy(e);
    throw e;
  });
  let entries = 0;
  try {
    for await (const entry of extract) {
      entries++;
      const h = entry.header;
      const rel = cleanEntryName(h.name);
      const path = rel === "" ? dir : `${dir}/${rel}`;
      if (rel !== "" && rel.includes("/")) {
        const parent = `${dir}/${rel.slice(0, rel.lastIndexOf("/"))}`;
        await Deno.mkdir(parent, { recursive: true });
        if ((await Deno.realPath(parent)) !== parent) {
          throw invalid(`invalid archive entry ${h.name}: its directory is a symlink`);
        }
      }
      if (h.type === "directory") {
        if (rel !== "") await Deno.mkdir(path, { recursive: true });
      } else if (h.type === "file" || h.type === "contiguous-file") {
        const f = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
        try {
          for await (const chunk of entry as AsyncIterable<Uint8Array>) {
            let off = 0;
            while (off < chunk.length) off += await f.write(chunk.subarray(off));
          }
        } finally {
          f.close();
        }
        continue;
      } else if (h.type === "symlink") {
        await Deno.symlink(h.linkname, path);
      }
      for await (const _ of entry as AsyncIterable<Uint8Array>) { /* drain */ }
    }
  } catch (e) {
    output.destroy();
    await feed.catch(() => {});
    throw e instanceof ImageError ? e : invalid(`invalid archive: ${(e as Error).message}`);
  }
  await feed;
  if (entries === 0) throw invalid("invalid archive: it is empty");
}

/** A path inside the archive directory, following symlinks only within it. */
async function inside(dir: string, rel: string): Promise<string> {
  let real: string;
  try {
    real = await Deno.realPath(`${dir}/${cleanEntryName(rel)}`);
  } catch {
    throw invalid(`invalid archive: ${rel} is missing`);
  }
  if (!real.startsWith(dir + "/")) {
    throw invalid(`invalid archive: ${rel} points outside the archive`);
  }
  return real;
}

const LAYER_TYPES = {
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
  none: MediaType.OciLayer,
} as const;

async function loadDockerArchive(
  svc: ImageService,
  dir: string,
  progress: ProgressSink,
): Promise<LoadResult> {
  let entries: DockerArchiveManifestEntry[];
  try {
    entries = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    if (!Array.isArray(entries)) throw new Error("not a list");
  } catch (e) {
    throw invalid(`invalid archive: manifest.json: ${(e as Error).message}`);
  }
  const result: LoadResult = { ids: [], tags: [] };
  for (const entry of entries) {
    const configBytes = await Deno.readFile(await inside(dir, entry.Config));
    const config = JSON.parse(new TextDecoder().decode(configBytes)) as ImageConfig;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (!Array.isArray(entry.Layers) || diffIds.length !== entry.Layers.length) {
      throw invalid(
        `invalid archive: ${entry.Config} lists ${diffIds.length} layers, manifest.json ${entry.Layers?.length}`,
      );
    }
    const layers: Descriptor[] = [];
    for (const l of entry.Layers) {
      const path = await inside(dir, l);
      const { digest, size } = await fileDigest(path);
      const head = new Uint8Array(4);
      const f = await Deno.open(path);
      await f.read(head);
      f.close();
      await svc.content.writeStream((await Deno.open(path)).readable, digest, size);
      layers.push({ mediaType: LAYER_TYPES[detectCompression(head)], digest, size });
    }
    const configDigest = await svc.content.write(configBytes);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
    const manifestDigest = await svc.content.write(manifestBytes);
    const tags = (entry.RepoTags ?? []).map((t) =>
      referenceString(withDefaultTag(parseNormalized(t)))
    );
    const rec = await importImage(
      svc,
      {
        mediaType: MediaType.OciManifest,
        digest: manifestDigest,
        size: manifestBytes.length,
      },
      manifest,
      config,
      tags,
      progress,
    );
    result.ids.push(rec.id);
    result.tags.push(...tags.map((t) => familiarString(parseNormalized(t))));
  }
  return result;
}

async function loadOciLayout(
  svc: ImageService,
  dir: string,
  progress: ProgressSink,
): Promise<LoadResult> {
  const readBlob = async (d: Descriptor): Promise<Uint8Array> => {
    const bytes = await Deno.readFile(
      await inside(dir, `blobs/sha256/${d.digest.replace(/^sha256:/, "")}`),
    );
    const got = sha256Digest(bytes);
    if (got !== d.digest) throw invalid(`invalid archive: blob ${d.digest} has digest ${got}`);
    return bytes;
  };
  const storeBlob = async (d: Descriptor) => {
    if (svc.content.has(d.digest)) return;
    const path = await inside(dir, `blobs/sha256/${d.digest.replace(/^sha256:/, "")}`);
    await svc.content.writeStream((await Deno.open(path)).readable, d.digest, d.size);
  };
  let index: ImageIndex;
  try {
    index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    if (!Array.isArray(index.manifests)) throw new Error("no manifests");
  } catch (e) {
    throw invalid(`invalid archive: index.json: ${(e as Error).message}`);
  }
  const result: LoadResult = { ids: [], tags: [] };
  for (const top of index.manifests) {
    let desc = top;
    if (INDEX_MEDIA_TYPES.includes(desc.mediaType)) {
      const nested = JSON.parse(new TextDecoder().decode(await readBlob(desc))) as ImageIndex;
      desc = selectManifest(nested.manifests, svc.platform);
    }
    const manifestBytes = await readBlob(desc);
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as ImageManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw invalid(`invalid archive: ${desc.digest} is not an image manifest`);
    }
    const configBytes = await readBlob(manifest.config);
    const config = JSON.parse(new TextDecoder().decode(configBytes)) as ImageConfig;
    for (const l of manifest.layers) await storeBlob(l);
    await svc.content.write(configBytes, manifest.config.digest);
    await svc.content.write(manifestBytes, desc.digest);
    const tags: string[] = [];
    const name = top.annotations?.[Annotation.ContainerdImageName] ??
      top.annotations?.[Annotation.RefName];
    // A bare tag ("latest", as skopeo writes it) names no repository: the image loads untagged.
    if (name && (name.includes("/") || name.includes(":"))) {
      try {
        tags.push(referenceString(withDefaultTag(parseNormalized(name))));
      } catch { /* not a reference: untagged */ }
    }
    const rec = await importImage(
      svc,
      {
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        ...(desc.platform ? { platform: desc.platform } : {}),
      },
      manifest,
      config,
      tags,
      progress,
    );
    result.ids.push(rec.id);
    result.tags.push(...tags.map((t) => familiarString(parseNormalized(t))));
  }
  return result;
}

/**
 * Unpacks the layers of an image whose blobs are in the content store and
 * records it with `tags` (full references), reporting as `docker load` does.
 */
export async function importImage(
  svc: ImageService,
  target: Descriptor,
  manifest: ImageManifest,
  config: ImageConfig,
  tags: string[],
  progress: ProgressSink,
): Promise<ImageRecord> {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw invalid(
      `image config lists ${diffIds.length} layers, its manifest ${manifest.layers.length}`,
    );
  }
  const chain = chainIds(diffIds);
  const release = svc.lease(chain);
  try {
    for (let i = 0; i < chain.length; i++) {
      const layer = manifest.layers[i];
      const id = shortId(diffIds[i]);
      await svc.snapshots.ensureLayer(
        chain[i],
        i ? chain[i - 1] : undefined,
        diffIds[i],
        async (d) => await applyLayer(await svc.content.openVerified(layer.digest), d),
      );
      progress(layerProgress(id, "Loading layer", layer.size, layer.size));
    }
    const id = manifest.config.digest;
    const renamed: [string, string][] = [];
    const record = svc.images.update((tx) => {
      const old = tx.get(id);
      const rec: ImageRecord = old ?? { id, target, stored: new Date().toISOString() };
      if (tags.length) rec.lastTagTime = new Date().toISOString();
      tx.putImage(rec);
      for (const t of tags) {
        const previous = tx.setReference(t, id);
        if (previous) renamed.push([t, previous]);
      }
      return rec;
    });
    for (const [t, previous] of renamed) {
      progress({
        stream: `The image ${
          familiarString(parseNormalized(t))
        } already exists, renaming the old one with ID ${previous} to empty string\n`,
      });
    }
    if (tags.length === 0) progress({ stream: `Loaded image ID: ${id}\n` });
    for (const t of tags) {
      progress({ stream: `Loaded image: ${familiarString(parseNormalized(t))}\n` });
    }
    return record;
  } finally {
    release();
  }
}

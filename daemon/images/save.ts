/**
 * `docker save`: a tar that both Docker's loaders read — the docker-archive
 * part (`manifest.json`, `repositories`) and an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/…`), sharing the same blobs, as
 * Docker 25 and later write it. Layers are the blobs as pulled (compressed or
 * not); Docker's loaders decompress what they find.
 */
import tar, { type Pack } from "tar-stream";
import type {
  DockerArchiveManifestEntry,
  DockerArchiveRepositories,
  ImageIndex,
} from "./oci_types.ts";
import { Annotation, MediaType } from "./oci_types.ts";
import { digestHex, Sha256 } from "./digest.ts";
import { decompressed } from "./unpack/decompress.ts";
import { invalid } from "./errors.ts";
import {
  familiarName,
  familiarString,
  isFullImageId,
  parseNormalized,
  type Reference,
  ReferenceError,
  referenceString,
  repositoryName,
} from "./reference.ts";
import type { ImageService } from "./service.ts";

interface Selected {
  id: string;
  /** Full references (tags) to write for the image. */
  tags: Set<string>;
}

/** Which images and tags `docker save NAME...` means (a bare repository name: all its tags). */
export function selectForSave(svc: ImageService, names: string[]): Selected[] {
  const byId = new Map<string, Selected>();
  const add = (id: string, tag?: string) => {
    const s = byId.get(id) ?? { id, tags: new Set<string>() };
    if (tag) s.tags.add(tag);
    byId.set(id, s);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    if (!isFullImageId(name)) {
      try {
        ref = parseNormalized(name);
      } catch (e) {
        if (!(e instanceof ReferenceError)) throw e;
      }
    }
    if (ref && ref.tag === undefined && ref.digest === undefined) {
      const repo = repositoryName(ref);
      const tagged = svc.images.allReferences().filter(([r]) =>
        !r.includes("@") && r.slice(0, r.lastIndexOf(":")) === repo
      );
      if (tagged.length) {
        for (const [r, id] of tagged) add(id, r);
        continue;
      }
    }
    const record = svc.lookup(name);
    if (ref?.tag !== undefined) add(record.id, referenceString(ref));
    else add(record.id);
  }
  return [...byId.values()];
}

/** The archive as a stream. */
export function saveImages(svc: ImageService, names: string[]): ReadableStream<Uint8Array> {
  if (names.length === 0) throw invalid("no images specified");
  const selected = selectForSave(svc, names);
  const pack = tar.pack();
  const writing = writeArchive(svc, selected, pack).then(
    () => pack.finalize(),
    (e) => pack.destroy(e),
  );
  const it = (pack as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const r = await it.next();
      if (r.done) {
        await writing;
        ctl.close();
      } else ctl.enqueue(new Uint8Array(r.value));
    },
    async cancel() {
      pack.destroy();
      await writing.catch(() => {});
    },
  });
}

const MTIME = new Date(0);

function addEntry(pack: Pack, name: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Promise((resolve, reject) =>
    pack.entry(
      { name, size: bytes.length, mode: 0o644, mtime: MTIME },
      bytes,
      (e) => e ? reject(e) : resolve(),
    )
  );
}

function addDir(pack: Pack, name: string): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry(
      { name, type: "directory", mode: 0o755, mtime: MTIME },
      new Uint8Array(),
      (e) => e ? reject(e) : resolve(),
    )
  );
}

async function addBlob(svc: ImageService, pack: Pack, digest: string): Promise<void> {
  const size = svc.content.stat(digest);
  if (size === undefined) throw invalid(`blob ${digest} is missing from the content store`);
  await addStream(pack, digest, size, await svc.content.openVerified(digest));
}

function addStream(
  pack: Pack,
  digest: string,
  size: number,
  stream: ReadableStream<Uint8Array>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry(
      { name: `blobs/sha256/${digestHex(digest)}`, size, mode: 0o644, mtime: MTIME },
      (e) => e ? reject(e) : resolve(),
    );
    (async () => {
      for await (const chunk of stream) {
        if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
      }
      (sink as unknown as { end(): void }).end();
    })().catch((e) => {
      sink.destroy(e);
      reject(e);
    });
  });
}

/** A compressed layer written uncompressed (named by its diff id, which is checked). */
async function addUncompressed(
  svc: ImageService,
  pack: Pack,
  digest: string,
  diffId: string,
): Promise<void> {
  const dir = await svc.tempDir();
  try {
    const path = `${dir}/layer.tar`;
    const { output } = await decompressed(await svc.content.openVerified(digest));
    const h = new Sha256();
    const f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    try {
      for await (const chunk of output) {
        h.update(chunk);
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
      }
    } finally {
      f.close();
    }
    const got = h.digest();
    if (got !== diffId) throw invalid(`layer ${digest} uncompresses to ${got}, not ${diffId}`);
    await addStream(pack, diffId, h.size, (await Deno.open(path)).readable);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeArchive(svc: ImageService, selected: Selected[], pack: Pack): Promise<void> {
  await addDir(pack, "blobs/");
  await addDir(pack, "blobs/sha256/");
  const written = new Set<string>();
  const manifestJson: DockerArchiveManifestEntry[] = [];
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const repositories: DockerArchiveRepositories = {};
  for (const s of selected) {
    const record = svc.images.get(s.id)!;
    const manifest = await svc.manifestOf(record);
    for (const d of [record.target.digest, record.id, ...manifest.layers.map((l) => l.digest)]) {
      if (written.has(d)) continue;
      await addBlob(svc, pack, d);
      written.add(d);
    }
    const tags = [...s.tags].map((t) => parseNormalized(t));
    // Docker before 23 cannot decompress zstd: manifest.json gets those layers uncompressed.
    const config = await svc.configOf(record.id);
    const layerPaths: string[] = [];
    for (const [i, l] of manifest.layers.entries()) {
      if (!l.mediaType.endsWith("+zstd")) {
        layerPaths.push(`blobs/sha256/${digestHex(l.digest)}`);
        continue;
      }
      const diffId = config.rootfs.diff_ids[i];
      if (!written.has(diffId)) {
        await addUncompressed(svc, pack, l.digest, diffId);
        written.add(diffId);
      }
      layerPaths.push(`blobs/sha256/${digestHex(diffId)}`);
    }
    manifestJson.push({
      Config: `blobs/sha256/${digestHex(record.id)}`,
      RepoTags: tags.length ? tags.map(familiarString) : null,
      Layers: layerPaths,
    });
    const target = {
      mediaType: record.target.mediaType,
      digest: record.target.digest,
      size: record.target.size,
    };
    if (tags.length === 0) index.manifests.push(target);
    for (const t of tags) {
      index.manifests.push({
        ...target,
        annotations: {
          [Annotation.ContainerdImageName]: referenceString(t),
          [Annotation.RefName]: t.tag!,
        },
      });
      if (manifest.layers.length) {
        (repositories[familiarName(t)] ??= {})[t.tag!] = digestHex(
          manifest.layers[manifest.layers.length - 1].digest,
        );
      }
    }
  }
  await addEntry(pack, "index.json", JSON.stringify(index));
  await addEntry(pack, "manifest.json", JSON.stringify(manifestJson));
  await addEntry(pack, "oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  if (Object.keys(repositories).length) {
    await addEntry(pack, "repositories", JSON.stringify(repositories));
  }
}

/**
 * Test image material made in memory: layer tars (tar-stream), gzip/zstd
 * compression, and OCI image layouts written by hand (blobs, index.json,
 * oci-layout) that skopeo can push and berth can load.
 */
import tar from "tar-stream";
import zlib from "node:zlib";
import { sha256Digest } from "../../daemon/images/digest.ts";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
} from "../../daemon/images/oci_types.ts";

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  content?: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records, e.g. `{"SCHILY.xattr.user.x": "v"}`. */
  pax?: Record<string, string>;
}

export async function makeTar(entries: TarEntry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Uint8Array);
  })();
  for (const e of entries) {
    const content = typeof e.content === "string" ? new TextEncoder().encode(e.content) : e.content;
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_700_000_000_000),
      linkname: e.linkname,
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      pax: e.pax,
      size: type === "file" ? (content?.length ?? 0) : 0,
    };
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        header,
        type === "file" ? content ?? new Uint8Array() : new Uint8Array(),
        (err) => err ? reject(err) : resolve(),
      );
    });
  }
  pack.finalize();
  await done;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export const gzip = (b: Uint8Array): Uint8Array => new Uint8Array(zlib.gzipSync(b));
export const zstd = (b: Uint8Array): Uint8Array => new Uint8Array(zlib.zstdCompressSync(b));

export function streamOf(b: Uint8Array, chunk = 7000): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(ctl) {
      if (off >= b.length) return ctl.close();
      ctl.enqueue(b.slice(off, off + chunk));
      off += chunk;
    },
  });
}

export interface LayerSpec {
  entries: TarEntry[];
  compression?: "gzip" | "zstd" | "none";
}

export interface BuiltImage {
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  manifestDigest: string;
  config: ImageConfig;
  configDigest: string;
  /** Blobs by digest (config, layers, manifest). */
  blobs: Map<string, Uint8Array>;
  diffIds: string[];
}

const enc = new TextEncoder();

/** An OCI (or Docker schema 2) image from layer specs; all blobs in memory. */
export async function buildImage(opts: {
  layers: LayerSpec[];
  platform?: Platform;
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  docker?: boolean;
  created?: string;
}): Promise<BuiltImage> {
  const blobs = new Map<string, Uint8Array>();
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of opts.layers) {
    const raw = await makeTar(l.entries);
    diffIds.push(sha256Digest(raw));
    const c = l.compression ?? "gzip";
    const data = c === "gzip" ? gzip(raw) : c === "zstd" ? zstd(raw) : raw;
    const digest = sha256Digest(data);
    blobs.set(digest, data);
    const mediaType = opts.docker
      ? (c === "gzip" ? MediaType.DockerLayerGzip : MediaType.DockerLayer)
      : c === "gzip"
      ? MediaType.OciLayerGzip
      : c === "zstd"
      ? MediaType.OciLayerZstd
      : MediaType.OciLayer;
    layerDescs.push({ mediaType, digest, size: data.length });
  }
  const platform = opts.platform ?? { architecture: "amd64", os: "linux" };
  const created = opts.created ?? "2024-01-02T03:04:05Z";
  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: opts.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: opts.cmd ?? ["sh"],
      Labels: opts.labels ?? null,
    },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: diffIds.map((_, i) => ({
      created,
      created_by: `/bin/sh -c #(nop) layer ${i}`,
    })).concat([
      { created, created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true } as never,
    ]),
  };
  const configBytes = enc.encode(JSON.stringify(config));
  const configDigest = sha256Digest(configBytes);
  blobs.set(configDigest, configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: opts.docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: {
      mediaType: opts.docker ? MediaType.DockerConfig : MediaType.OciConfig,
      digest: configDigest,
      size: configBytes.length,
    },
    layers: layerDescs,
  };
  const manifestBytes = enc.encode(JSON.stringify(manifest, null, 2));
  const manifestDigest = sha256Digest(manifestBytes);
  blobs.set(manifestDigest, manifestBytes);
  return { manifest, manifestBytes, manifestDigest, config, configDigest, blobs, diffIds };
}

/** An OCI index over several images (each with its platform). */
export function buildIndex(images: BuiltImage[], docker = false): {
  index: ImageIndex;
  bytes: Uint8Array;
  digest: string;
} {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifestList : MediaType.OciIndex,
    manifests: images.map((img) => ({
      mediaType: img.manifest.mediaType!,
      digest: img.manifestDigest,
      size: img.manifestBytes.length,
      platform: {
        architecture: img.config.architecture,
        os: img.config.os,
        ...(img.config.variant ? { variant: img.config.variant } : {}),
      },
    })),
  };
  const bytes = enc.encode(JSON.stringify(index, null, 2));
  return { index, bytes, digest: sha256Digest(bytes) };
}

/**
 * Writes an OCI image layout directory: blobs, `oci-layout`, and an
 * `index.json` naming each top-level descriptor with a ref name.
 */
export async function writeOciLayout(
  dir: string,
  tops: { descriptor: Descriptor; refName?: string; blobs: Map<string, Uint8Array> }[],
): Promise<void> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const t of tops) {
    for (const [d, b] of t.blobs) await Deno.writeFile(`${dir}/blobs/sha256/${d.slice(7)}`, b);
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: tops.map((t) => ({
      ...t.descriptor,
      ...(t.refName ? { annotations: { "org.opencontainers.image.ref.name": t.refName } } : {}),
    })),
  };
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));
}

/** Descriptor of a built image's manifest. */
export function manifestDescriptor(img: BuiltImage): Descriptor {
  return {
    mediaType: img.manifest.mediaType!,
    digest: img.manifestDigest,
    size: img.manifestBytes.length,
  };
}

/** Debian's static busybox, the one program in the test images. */
export const BUSYBOX = "/bin/busybox";

/**
 * The layers of the feature-rich test image:
 * 1. (gzip) busybox with applet symlinks, /data with two files, /old/file;
 * 2. (zstd) /data made opaque with one new file, a whiteout for /old, a
 *    setuid file with a hard link, a device node, a fifo, an xattr;
 * 3. (uncompressed) one more file.
 */
export function richImageLayers(): LayerSpec[] {
  const busybox = Deno.readFileSync(BUSYBOX);
  return [
    {
      compression: "gzip",
      entries: [
        { name: "bin/", type: "directory" },
        { name: "bin/busybox", content: busybox, mode: 0o755 },
        ...["sh", "ls", "cat", "stat", "getfattr", "true"].map((a) => ({
          name: `bin/${a}`,
          type: "symlink" as const,
          linkname: "busybox",
        })),
        { name: "etc/", type: "directory" },
        { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
        { name: "data/", type: "directory" },
        { name: "data/a", content: "a from layer 1\n" },
        { name: "data/b", content: "b from layer 1\n" },
        { name: "old/", type: "directory" },
        { name: "old/file", content: "to be whited out\n" },
        { name: "tmp/", type: "directory", mode: 0o1777 },
      ],
    },
    {
      compression: "zstd",
      entries: [
        { name: "data/", type: "directory" },
        { name: "data/.wh..wh..opq" },
        { name: "data/c", content: "c from layer 2\n" },
        { name: ".wh.old" },
        { name: "usr/", type: "directory" },
        { name: "usr/bin/", type: "directory" },
        { name: "usr/bin/suid", content: "#!/bin/sh\necho suid\n", mode: 0o4755, uid: 0, gid: 0 },
        { name: "usr/bin/suid-link", type: "link", linkname: "usr/bin/suid", mode: 0o4755 },
        { name: "dev/", type: "directory" },
        { name: "dev/mynull", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
        { name: "dev/pipe", type: "fifo", mode: 0o600 },
        { name: "owned", content: "owned by 1000:1000\n", uid: 1000, gid: 1000, mode: 0o640 },
        { name: "tagged", content: "has an xattr\n", pax: { "SCHILY.xattr.user.berth": "yes" } },
      ],
    },
    {
      compression: "none",
      entries: [{ name: "etc/motd", content: "layer 3\n", mtime: new Date(1_234_567_890_000) }],
    },
  ];
}

/** A tar of a directory's content (GNU tar), as `docker load` takes it. */
export async function tarDirectory(dir: string): Promise<Uint8Array> {
  const out = await new Deno.Command("tar", { args: ["-C", dir, "-cf", "-", "."], stdin: "null" })
    .output();
  if (!out.success) throw new Error(`tar: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

/** An OCI layout tar of images, each named by `io.containerd.image.name` (as Docker's save). */
export async function ociArchive(
  images: { img: BuiltImage; name?: string }[],
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "berth-oci-" });
  try {
    await writeOciLayout(
      dir,
      images.map(({ img }) => ({ descriptor: manifestDescriptor(img), blobs: img.blobs })),
    );
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)) as ImageIndex;
    images.forEach(({ name }, i) => {
      if (name) index.manifests[i].annotations = { "io.containerd.image.name": name };
    });
    await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));
    return await tarDirectory(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

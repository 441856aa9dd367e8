/**
 * Snapshots for overlayfs, in containerd's shape: each committed layer is a
 * directory `<root>/<n>/fs` keyed by its chain id (so a layer shared by many
 * images is unpacked once), and each container gets an active snapshot
 * `<root>/<n>/{fs,work}` on top of its image's chain. Short numeric
 * directory names keep overlay's lowerdir option well under the page size.
 *
 * Every snapshot directory carries its own `meta.json` and appears by a
 * single rename from a temp directory, so after a crash (kill -9 included) a
 * snapshot is either whole or absent; temp and half-removed directories are
 * swept at start.
 */
import { fsyncDir } from "../containerd/metadata/atomic.ts";
import { syncfs } from "../../runtime/linux/libc.ts";
import { sha256Digest } from "./digest.ts";
import { conflict, ImageError, notFound } from "./errors.ts";

const TEMP_PREFIX = ".tmp-";
const REMOVING_PREFIX = ".rm-";

/** containerd's Mount message: what to mount for a container's root filesystem. */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface SnapshotMeta {
  kind: "layer" | "active";
  /** Directory number under the snapshot root. */
  id: number;
  /** A layer's chain id, or an active snapshot's key (the container id). */
  key: string;
  /** Chain id of the layer below (none for a base layer or an image without layers). */
  parent?: string;
  /** A layer's diff id (sha256 of its uncompressed tar). */
  diffId?: string;
  /** Bytes of regular files in a layer. */
  size: number;
  created: string;
  labels?: Record<string, string>;
}

/** The chain ids of a stack of diff ids (bottom first), as the OCI image spec defines them. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? sha256Digest(`${out[out.length - 1]} ${d}`) : d);
  return out;
}

export class SnapshotStore {
  #layers = new Map<string, SnapshotMeta>();
  #active = new Map<string, SnapshotMeta>();
  #nextId = 1;
  #inflight = new Map<string, Promise<SnapshotMeta>>();

  constructor(readonly root: string) {
    Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
    for (const e of Deno.readDirSync(root)) {
      const path = `${root}/${e.name}`;
      if (e.name.startsWith(TEMP_PREFIX) || e.name.startsWith(REMOVING_PREFIX)) {
        Deno.removeSync(path, { recursive: true });
        continue;
      }
      if (!/^\d+$/.test(e.name)) continue;
      let meta: SnapshotMeta;
      try {
        meta = JSON.parse(Deno.readTextFileSync(`${path}/meta.json`));
      } catch {
        Deno.removeSync(path, { recursive: true }); // not made by a completed rename
        continue;
      }
      this.#nextId = Math.max(this.#nextId, meta.id + 1);
      (meta.kind === "layer" ? this.#layers : this.#active).set(meta.key, meta);
    }
  }

  dir(meta: SnapshotMeta): string {
    return `${this.root}/${meta.id}`;
  }

  fsPath(meta: SnapshotMeta): string {
    return `${this.root}/${meta.id}/fs`;
  }

  layer(chainId: string): SnapshotMeta | undefined {
    return this.#layers.get(chainId);
  }

  layers(): SnapshotMeta[] {
    return [...this.#layers.values()];
  }

  active(key: string): SnapshotMeta | undefined {
    return this.#active.get(key);
  }

  activeSnapshots(): SnapshotMeta[] {
    return [...this.#active.values()];
  }

  /** The layers of a chain, top first (as overlay's lowerdir lists them). */
  chain(chainId: string | undefined): SnapshotMeta[] {
    const out: SnapshotMeta[] = [];
    for (let c = chainId; c !== undefined;) {
      const m = this.#layers.get(c);
      if (!m) throw new ImageError("not-found", `snapshot ${c} does not exist`);
      out.push(m);
      c = m.parent;
    }
    return out;
  }

  /**
   * The committed layer `chainId`, unpacking it with `fill` (into an empty
   * directory) when it is not there yet. Concurrent calls for one chain id
   * share one unpack.
   */
  ensureLayer(
    chainId: string,
    parent: string | undefined,
    diffId: string,
    fill: (dir: string) => Promise<{ diffId: string; size: number }>,
  ): Promise<SnapshotMeta> {
    const have = this.#layers.get(chainId);
    if (have) return Promise.resolve(have);
    const running = this.#inflight.get(chainId);
    if (running) return running;
    const p = this.#unpack(chainId, parent, diffId, fill).finally(() =>
      this.#inflight.delete(chainId)
    );
    this.#inflight.set(chainId, p);
    return p;
  }

  async #unpack(
    chainId: string,
    parent: string | undefined,
    diffId: string,
    fill: (dir: string) => Promise<{ diffId: string; size: number }>,
  ): Promise<SnapshotMeta> {
    if (parent !== undefined && !this.#layers.has(parent)) {
      throw new ImageError("not-found", `parent snapshot ${parent} does not exist`);
    }
    const tmp = `${this.root}/${TEMP_PREFIX}${crypto.randomUUID()}`;
    await Deno.mkdir(`${tmp}/fs`, { recursive: true, mode: 0o755 });
    try {
      const r = await fill(`${tmp}/fs`);
      if (r.diffId !== diffId) {
        throw new ImageError(
          "invalid",
          `layer verification failed: uncompressed content is ${r.diffId}, the image config says ${diffId}`,
        );
      }
      const meta: SnapshotMeta = {
        kind: "layer",
        id: this.#nextId++,
        key: chainId,
        ...(parent !== undefined ? { parent } : {}),
        diffId,
        size: r.size,
        created: new Date().toISOString(),
      };
      await Deno.writeTextFile(`${tmp}/meta.json`, JSON.stringify(meta));
      syncfs(tmp);
      await Deno.rename(tmp, this.dir(meta));
      fsyncDir(this.root);
      this.#layers.set(chainId, meta);
      return meta;
    } catch (e) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /**
   * Makes the writable snapshot `key` (a container id) on top of the layer
   * `parent` (an image's top chain id; undefined for an image without
   * layers) and returns the mounts of its root filesystem.
   */
  async prepare(
    key: string,
    parent: string | undefined,
    labels?: Record<string, string>,
  ): Promise<Mount[]> {
    if (this.#active.has(key)) throw conflict(`snapshot ${key} already exists`);
    if (parent !== undefined) this.chain(parent); // checks the chain is whole
    const tmp = `${this.root}/${TEMP_PREFIX}${crypto.randomUUID()}`;
    await Deno.mkdir(`${tmp}/fs`, { recursive: true, mode: 0o755 });
    await Deno.mkdir(`${tmp}/work`, { mode: 0o700 });
    const meta: SnapshotMeta = {
      kind: "active",
      id: this.#nextId++,
      key,
      ...(parent !== undefined ? { parent } : {}),
      size: 0,
      created: new Date().toISOString(),
      ...(labels ? { labels } : {}),
    };
    await Deno.writeTextFile(`${tmp}/meta.json`, JSON.stringify(meta));
    const f = await Deno.open(`${tmp}/meta.json`, { read: true });
    await f.sync();
    f.close();
    fsyncDir(tmp);
    await Deno.rename(tmp, this.dir(meta));
    fsyncDir(this.root);
    this.#active.set(key, meta);
    return this.mounts(key);
  }

  /** The mounts of an active snapshot (containerd's overlay snapshotter's shape). */
  mounts(key: string): Mount[] {
    const meta = this.#active.get(key);
    if (!meta) throw notFound(`snapshot ${key} does not exist`);
    const upper = this.fsPath(meta);
    const lowers = this.chain(meta.parent).map((m) => this.fsPath(m));
    if (lowers.length === 0) {
      return [{ type: "bind", source: upper, options: ["rbind", "rw"] }];
    }
    return [{
      type: "overlay",
      source: "overlay",
      options: [
        "index=off",
        `workdir=${this.dir(meta)}/work`,
        `upperdir=${upper}`,
        `lowerdir=${lowers.join(":")}`,
      ],
    }];
  }

  /** Removes an active snapshot (the container's changes go with it). */
  async removeActive(key: string): Promise<void> {
    const meta = this.#active.get(key);
    if (!meta) throw notFound(`snapshot ${key} does not exist`);
    await this.#removeDir(meta);
    this.#active.delete(key);
  }

  /** Chain ids that active snapshots stand on (directly or through parents). */
  layersInUse(): Set<string> {
    const used = new Set<string>();
    for (const a of this.#active.values()) {
      for (const m of this.chain(a.parent)) used.add(m.key);
    }
    return used;
  }

  /**
   * Removes a committed layer. The caller decides it is unused; a layer that
   * is the parent of another layer or of an active snapshot is refused.
   */
  async removeLayer(chainId: string): Promise<void> {
    const meta = this.#layers.get(chainId);
    if (!meta) return;
    for (const m of [...this.#layers.values(), ...this.#active.values()]) {
      if (m.parent === chainId) {
        throw conflict(`snapshot ${chainId} is the parent of snapshot ${m.key}`);
      }
    }
    await this.#removeDir(meta);
    this.#layers.delete(chainId);
  }

  /** Renames out of the way first, so a crash mid-removal leaves nothing that looks whole. */
  async #removeDir(meta: SnapshotMeta): Promise<void> {
    const gone = `${this.root}/${REMOVING_PREFIX}${meta.id}`;
    await Deno.rename(this.dir(meta), gone);
    fsyncDir(this.root);
    await Deno.remove(gone, { recursive: true });
  }

  /** Total bytes of an active snapshot's changes (for `docker ps -s`). */
  async usage(key: string): Promise<number> {
    const meta = this.#active.get(key);
    if (!meta) throw notFound(`snapshot ${key} does not exist`);
    return await duBytes(this.fsPath(meta));
  }
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<number>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const st = await Deno.lstat(p);
      if (st.isDirectory) await walk(p);
      else if (st.isFile && st.ino !== null && !seen.has(st.ino)) {
        seen.add(st.ino);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}

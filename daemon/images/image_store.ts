/**
 * Image records and the references (tags and digests) that name them,
 * kept in one JSON file (`images.json`) rewritten atomically (temp file,
 * fsync, rename, fsync of the directory) on every change: after a crash the
 * file is the state before or after a change, never between.
 *
 * An image's id is the digest of its config. References are full names
 * (`docker.io/library/busybox:latest`, `docker.io/library/busybox@sha256:…`).
 */
import { writeFileAtomic } from "../containerd/metadata/atomic.ts";
import type { Descriptor } from "./oci_types.ts";

export interface ImageRecord {
  /** `sha256:<config digest hex>`. */
  id: string;
  /** The platform-specific manifest the image was made from. */
  target: Descriptor;
  /** When berth stored the image. */
  stored: string;
  /** Digests of the index (manifest list) the image was pulled through, kept for its repo digest. */
  indexDigests?: string[];
  /** When a tag was last added (Docker's Metadata.LastTagTime). */
  lastTagTime?: string;
}

interface ImageDb {
  version: 1;
  images: Record<string, ImageRecord>;
  /** Full reference → image id. */
  references: Record<string, string>;
}

export class ImageStore {
  #db: ImageDb = { version: 1, images: {}, references: {} };

  constructor(readonly path: string) {
    try {
      this.#db = JSON.parse(Deno.readTextFileSync(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  get(id: string): ImageRecord | undefined {
    return this.#db.images[id];
  }

  all(): ImageRecord[] {
    return Object.values(this.#db.images);
  }

  ids(): string[] {
    return Object.keys(this.#db.images);
  }

  /** The image a full reference names. */
  resolve(ref: string): string | undefined {
    return this.#db.references[ref];
  }

  /** Every reference to `id`, in the order they were made. */
  referencesOf(id: string): string[] {
    return Object.entries(this.#db.references).filter(([, v]) => v === id).map(([k]) => k);
  }

  allReferences(): [string, string][] {
    return Object.entries(this.#db.references);
  }

  /**
   * Applies several changes and saves once. `fn` works on a copy: if it
   * throws, nothing changes.
   */
  update<T>(fn: (tx: ImageTx) => T): T {
    const copy: ImageDb = structuredClone(this.#db);
    const result = fn(new ImageTx(copy));
    writeFileAtomic(this.path, JSON.stringify(copy));
    this.#db = copy;
    return result;
  }
}

/** Changes to the store inside {@link ImageStore.update}. */
export class ImageTx {
  constructor(private db: ImageDb) {}

  get(id: string): ImageRecord | undefined {
    return this.db.images[id];
  }

  putImage(record: ImageRecord): void {
    this.db.images[record.id] = record;
  }

  /** Points `ref` at `id`; returns the image it pointed at before, if another. */
  setReference(ref: string, id: string): string | undefined {
    const old = this.db.references[ref];
    delete this.db.references[ref]; // re-adding moves it to the end (newest)
    this.db.references[ref] = id;
    return old !== id ? old : undefined;
  }

  deleteReference(ref: string): boolean {
    if (!(ref in this.db.references)) return false;
    delete this.db.references[ref];
    return true;
  }

  /** Removes the image and every reference to it. */
  deleteImage(id: string): void {
    delete this.db.images[id];
    for (const [ref, v] of Object.entries(this.db.references)) {
      if (v === id) delete this.db.references[ref];
    }
  }

  referencesOf(id: string): string[] {
    return Object.entries(this.db.references).filter(([, v]) => v === id).map(([k]) => k);
  }
}

/**
 * The content store: blobs addressed by their sha256 digest under
 * `<root>/blobs/sha256/<hex>`, as in an OCI image layout.
 *
 * Writes go to a temp file (or a resumable ingest under `<root>/ingest/`),
 * are hashed as they arrive, fsync'd, and renamed into place only when the
 * digest (and size, when known) match: a blob that is present is whole and
 * correct. Reads verify the digest again, so a blob damaged on disk is
 * reported rather than used.
 */
import { fsyncDir } from "../containerd/metadata/atomic.ts";
import { digestHex, Sha256 } from "./digest.ts";
import { DigestMismatchError, ImageError } from "./errors.ts";

const TEMP_PREFIX = ".tmp-";

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobsDir = `${root}/blobs/sha256`;
    this.ingestDir = `${root}/ingest`;
    Deno.mkdirSync(this.blobsDir, { recursive: true, mode: 0o700 });
    Deno.mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
    for (const e of Deno.readDirSync(this.blobsDir)) {
      if (e.name.startsWith(TEMP_PREFIX)) Deno.removeSync(`${this.blobsDir}/${e.name}`);
    }
  }

  path(digest: string): string {
    return `${this.blobsDir}/${digestHex(digest)}`;
  }

  /** The blob's size, or undefined when the store does not have it. */
  stat(digest: string): number | undefined {
    try {
      return Deno.statSync(this.path(digest)).size;
    } catch {
      return undefined;
    }
  }

  has(digest: string): boolean {
    return this.stat(digest) !== undefined;
  }

  /** Every digest in the store. */
  list(): string[] {
    const out: string[] = [];
    for (const e of Deno.readDirSync(this.blobsDir)) {
      if (e.isFile && /^[a-f0-9]{64}$/.test(e.name)) out.push(`sha256:${e.name}`);
    }
    return out;
  }

  /** A small blob (manifest, config), read whole and verified. */
  async read(digest: string): Promise<Uint8Array> {
    let data: Uint8Array;
    try {
      data = await Deno.readFile(this.path(digest));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ImageError("not-found", `content ${digest}: not found`);
      }
      throw e;
    }
    const h = new Sha256();
    h.update(data);
    const actual = h.digest();
    if (actual !== digest) throw new DigestMismatchError(digest, actual, "stored content");
    return data;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse(new TextDecoder().decode(await this.read(digest))) as T;
  }

  /**
   * A stream of the blob that errors at its end when the bytes do not hash to
   * `digest`, so a consumer never finishes on damaged content.
   */
  async openVerified(digest: string): Promise<ReadableStream<Uint8Array>> {
    const file = await Deno.open(this.path(digest)).catch((e) => {
      if (e instanceof Deno.errors.NotFound) {
        throw new ImageError("not-found", `content ${digest}: not found`);
      }
      throw e;
    });
    const h = new Sha256();
    return file.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          h.update(chunk);
          ctl.enqueue(chunk);
        },
        flush() {
          const actual = h.digest();
          if (actual !== digest) throw new DigestMismatchError(digest, actual, "stored content");
        },
      }),
    );
  }

  /** Stores bytes; verifies them against `expected` when given. Returns the digest. */
  async write(data: Uint8Array, expected?: string): Promise<string> {
    const h = new Sha256();
    h.update(data);
    const digest = h.digest();
    if (expected !== undefined && digest !== expected) {
      throw new DigestMismatchError(expected, digest);
    }
    if (this.has(digest)) return digest;
    const tmp = `${this.blobsDir}/${TEMP_PREFIX}${crypto.randomUUID()}`;
    const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.sync();
    } catch (e) {
      f.close();
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    f.close();
    await Deno.rename(tmp, this.path(digest));
    fsyncDir(this.blobsDir);
    return digest;
  }

  /** Stores a JSON document as it is serialized here; returns its digest. */
  writeJson(value: unknown): Promise<string> {
    return this.write(new TextEncoder().encode(JSON.stringify(value)));
  }

  /**
   * Stores a stream whose digest is known in advance (from a manifest or a
   * file name), through a resumable ingest; nothing is stored when the bytes
   * do not match.
   */
  async writeStream(
    stream: ReadableStream<Uint8Array>,
    expected: string,
    expectedSize?: number,
  ): Promise<void> {
    if (this.has(expected)) {
      await stream.cancel();
      return;
    }
    const ingest = await this.openIngest(expected, expectedSize, { restart: true });
    try {
      for await (const chunk of stream) await ingest.write(chunk);
      await ingest.commit();
    } catch (e) {
      await ingest.abort();
      throw e;
    }
  }

  /**
   * A resumable write of the blob `digest`: the bytes received so far stay
   * under `<root>/ingest/<hex>/data` between attempts (and restarts), so a
   * download can continue with an HTTP Range request from {@link Ingest.offset}.
   */
  async openIngest(
    digest: string,
    expectedSize?: number,
    opts: { restart?: boolean } = {},
  ): Promise<Ingest> {
    const dir = `${this.ingestDir}/${digestHex(digest)}`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const path = `${dir}/data`;
    if (opts.restart) await Deno.remove(path).catch(() => {});
    const h = new Sha256();
    // Re-hash what an earlier attempt left (the hash state is not kept on disk).
    try {
      const f = await Deno.open(path);
      for await (const chunk of f.readable) h.update(chunk);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (expectedSize !== undefined && h.size > expectedSize) {
      await Deno.remove(path);
      return this.openIngest(digest, expectedSize, opts);
    }
    const file = await Deno.open(path, { write: true, create: true, append: true, mode: 0o600 });
    return new Ingest(this, digest, expectedSize, dir, path, file, h);
  }

  /** Commits an ingest's file (called by {@link Ingest.commit}). */
  async _commit(path: string, digest: string): Promise<void> {
    await Deno.rename(path, this.path(digest));
    fsyncDir(this.blobsDir);
  }

  /** Removes a blob (no error when absent). */
  async delete(digest: string): Promise<void> {
    try {
      await Deno.remove(this.path(digest));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /** Removes every partial download. */
  async clearIngests(): Promise<void> {
    for await (const e of Deno.readDir(this.ingestDir)) {
      await Deno.remove(`${this.ingestDir}/${e.name}`, { recursive: true });
    }
  }
}

/** An open, resumable write of one blob. */
export class Ingest {
  #done = false;

  constructor(
    private store: ContentStore,
    readonly digest: string,
    readonly expectedSize: number | undefined,
    private dir: string,
    private path: string,
    private file: Deno.FsFile,
    private hash: Sha256,
  ) {}

  /** Bytes already written (where a resumed download starts). */
  get offset(): number {
    return this.hash.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.expectedSize !== undefined && this.hash.size + chunk.length > this.expectedSize) {
      const got = this.hash.size + chunk.length;
      await this.abort();
      throw new ImageError(
        "invalid",
        `blob ${this.digest}: more data than the ${this.expectedSize} bytes expected (${got})`,
      );
    }
    this.hash.update(chunk);
    let off = 0;
    while (off < chunk.length) off += await this.file.write(chunk.subarray(off));
  }

  /** Throws away what was written: the next attempt starts from zero. */
  async reset(): Promise<void> {
    await this.file.truncate(0);
    this.hash = new Sha256();
  }

  /** Verifies size and digest, then moves the blob into the store. */
  async commit(): Promise<void> {
    if (this.expectedSize !== undefined && this.hash.size !== this.expectedSize) {
      const got = this.hash.size;
      await this.abort();
      throw new ImageError(
        "invalid",
        `blob ${this.digest}: size ${got} does not match the ${this.expectedSize} bytes expected`,
      );
    }
    const actual = this.hash.digest();
    if (actual !== this.digest) {
      await this.abort();
      throw new DigestMismatchError(this.digest, actual, "filesystem layer");
    }
    await this.file.sync();
    this.file.close();
    this.#done = true;
    await this.store._commit(this.path, this.digest);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** Keeps the partial data for a later resume and closes the file. */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    this.file.close();
  }

  /** Removes the partial data. */
  async abort(): Promise<void> {
    this.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

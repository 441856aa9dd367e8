/** sha256 digests (`sha256:<hex>`) of bytes and streams. */
import { createHash, type Hash } from "node:crypto";

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(s: string): boolean {
  return SHA256_RE.test(s);
}

/** The hex part of a `sha256:` digest (checked). */
export function digestHex(digest: string): string {
  if (!SHA256_RE.test(digest)) throw new TypeError(`not a sha256 digest: ${digest}`);
  return digest.slice(7);
}

export function sha256Digest(data: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}

/** An incremental sha256 that also counts bytes. */
export class Sha256 {
  #hash: Hash = createHash("sha256");
  size = 0;
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.size += chunk.length;
  }
  /** `sha256:<hex>`; the hasher cannot be used afterwards. */
  digest(): string {
    return "sha256:" + this.#hash.digest("hex");
  }
}

/** The sha256 digest of a file's content. */
export async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const h = new Sha256();
  const f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk); // closes the file

  return { digest: h.digest(), size: h.size };
}

/** Short image id form: the first 12 hex digits. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

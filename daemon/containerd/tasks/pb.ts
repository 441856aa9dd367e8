/**
 * A minimal protobuf writer for the few messages the Tasks service hands out
 * inside a google.protobuf.Any (cgroup metrics, runc process details). These
 * are not part of any gRPC method, so proto-loader does not encode them; a
 * writer of varints and length-delimited fields is all they need.
 */

/** A value for a uint64 field: JS numbers above 2^53 are approximate, 2^64 means UINT64_MAX. */
export type U64 = number | bigint;

const UINT64_MAX = (1n << 64n) - 1n;

function toBig(v: U64): bigint {
  if (typeof v === "bigint") return v > UINT64_MAX ? UINT64_MAX : v < 0n ? 0n : v;
  if (!Number.isFinite(v) || v <= 0) return 0n;
  const b = BigInt(Math.floor(v));
  return b > UINT64_MAX ? UINT64_MAX : b;
}

export class PbWriter {
  private bytes: number[] = [];

  private varint(v: bigint): void {
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  private tag(field: number, wire: 0 | 2): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** A uint64/uint32 field; zero (the proto3 default) is left out. */
  uint(field: number, v: U64 | undefined): this {
    if (v === undefined) return this;
    const b = toBig(v);
    if (b === 0n) return this;
    this.tag(field, 0);
    this.varint(b);
    return this;
  }

  /** A packed repeated uint64 field. */
  packed(field: number, vs: U64[] | undefined): this {
    if (!vs?.length) return this;
    const inner = new PbWriter();
    for (const v of vs) inner.varint(toBig(v));
    return this.raw(field, inner.finish());
  }

  string(field: number, s: string | undefined): this {
    if (!s) return this;
    return this.raw(field, new TextEncoder().encode(s));
  }

  /** An embedded message; written even when empty, so that "present" survives. */
  message(field: number, m: PbWriter | undefined): this {
    if (!m) return this;
    return this.raw(field, m.finish());
  }

  private raw(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(data.length));
    for (const b of data) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/**
 * Docker's detach keys (`--detach-keys`, the `detachKeys` query parameter):
 * a comma-separated list such as the default "ctrl-p,ctrl-q". Typing the
 * sequence on an attached stdin detaches the client instead of reaching the
 * container; a partial match is held back until it either completes or
 * breaks (then it is passed on as typed).
 */
import { badRequest } from "../api/errors.ts";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; a single character stands for itself. */
export function parseDetachKeys(spec: string): Uint8Array {
  const out: number[] = [];
  for (const key of spec.split(",")) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-([a-z@\[\\\]^_])$/.exec(key);
    if (!m) throw badRequest(`Invalid detach keys (${spec}) provided`);
    const c = m[1];
    out.push(c >= "a" && c <= "z" ? c.charCodeAt(0) - 96 : c.charCodeAt(0) - 64);
  }
  if (!out.length || out.some((b) => b > 127)) {
    throw badRequest(`Invalid detach keys (${spec}) provided`);
  }
  return new Uint8Array(out);
}

/** Watches stdin for the detach sequence. */
export class DetachFilter {
  #matched = 0;

  constructor(readonly keys: Uint8Array) {}

  /**
   * The bytes to pass on, and whether the sequence was typed (then the bytes
   * before it are passed on and everything after it is dropped).
   */
  feed(chunk: Uint8Array): { data: Uint8Array; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.keys.length) return { data: new Uint8Array(out), detach: true };
        continue;
      }
      // The held-back prefix was not the sequence after all: it was input.
      for (let i = 0; i < this.#matched; i++) out.push(this.keys[i]);
      this.#matched = 0;
      if (b === this.keys[0]) this.#matched = 1;
      else out.push(b);
    }
    return { data: new Uint8Array(out), detach: false };
  }
}

import assert from "node:assert/strict";
import { DetachFilter, parseDetachKeys } from "./detach_keys.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("detach keys parse as Docker's", () => {
  assert.deepEqual([...parseDetachKeys("ctrl-p,ctrl-q")], [16, 17]);
  assert.deepEqual([...parseDetachKeys("ctrl-a,x,ctrl-@,ctrl-_")], [1, 120, 0, 31]);
  assert.throws(() => parseDetachKeys("ctrl-pp"), /Invalid detach keys \(ctrl-pp\) provided/);
  assert.throws(() => parseDetachKeys(""), /Invalid detach keys/);
  assert.throws(() => parseDetachKeys("alt-x"), /Invalid detach keys/);
});

Deno.test("the filter passes input through and stops at the sequence", () => {
  const f = new DetachFilter(parseDetachKeys("ctrl-p,ctrl-q"));
  assert.deepEqual(f.feed(bytes("abc")), { data: bytes("abc"), detach: false });
  // A partial match is held back across chunks...
  assert.deepEqual(f.feed(new Uint8Array([0x61, 16])), { data: bytes("a"), detach: false });
  // ...and released when the sequence breaks.
  assert.deepEqual(f.feed(bytes("z")), { data: new Uint8Array([16, 0x7a]), detach: false });
  // ctrl-p ctrl-p ctrl-q: the first ctrl-p is input, then the sequence.
  const r = f.feed(new Uint8Array([0x78, 16, 16, 17, 0x79]));
  assert.deepEqual(r, { data: new Uint8Array([0x78, 16]), detach: true });
});

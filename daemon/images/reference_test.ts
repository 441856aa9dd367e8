import assert from "node:assert/strict";
import {
  familiarString,
  parseNormalized,
  parseNormalizedTagged,
  referenceString,
  validateTag,
} from "./reference.ts";

const D = "sha256:" + "ab".repeat(32);

Deno.test("reference: normalization of short names", () => {
  const cases: [string, string, string][] = [
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["user/app", "docker.io/user/app:latest", "user/app:latest"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"],
    ["docker.io/a/b/c:t", "docker.io/a/b/c:t", "a/b/c:t"],
    ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
    ["localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "localhost:5000/a/b:v1"],
    ["127.0.0.1:5000/repo@" + D, "127.0.0.1:5000/repo@" + D, "127.0.0.1:5000/repo@" + D],
    ["ghcr.io/o/r:t@" + D, "ghcr.io/o/r:t@" + D, "ghcr.io/o/r:t@" + D],
    ["[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"],
    ["my_repo/a-b__c.d", "docker.io/my_repo/a-b__c.d:latest", "my_repo/a-b__c.d:latest"],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseNormalizedTagged(input);
    assert.equal(referenceString(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
  assert.equal(parseNormalized("busybox").tag, undefined);
});

Deno.test("reference: Docker's errors", () => {
  const bad: [string, RegExp][] = [
    ["", /invalid reference format/],
    ["Busybox", /invalid reference format: repository name \(library\/Busybox\) must be lowercase/],
    ["busybox:", /invalid reference format/],
    ["a:b:c", /invalid reference format/],
    ["-bad", /invalid reference format/],
    ["busybox@sha256:abc", /invalid reference format/],
    ["busybox@sha512:" + "a".repeat(128), /unsupported digest algorithm/],
    ["a".repeat(64), /cannot specify 64-byte hexadecimal strings/],
    ["x/" + "a".repeat(260), /must not be more than 255 characters/],
    ["busybox:" + "t".repeat(129), /invalid reference format/],
    ["foo//bar", /invalid reference format/],
    ["host:notaport/foo", /invalid reference format/],
  ];
  for (const [input, re] of bad) assert.throws(() => parseNormalized(input), re, input);
  assert.throws(() => validateTag(".x"), /invalid tag format/);
  assert.equal(validateTag("v1.0_rc-2"), "v1.0_rc-2");
});

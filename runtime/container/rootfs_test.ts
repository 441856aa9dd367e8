import assert from "node:assert/strict";
import { parseMountOptions, secureJoin } from "./rootfs.ts";
import { MS } from "../linux/libc.ts";

Deno.test("secureJoin keeps every path inside the root, symlinks included", () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/etc`);
    Deno.symlinkSync("/", `${root}/up`); // absolute: the container's own "/"
    Deno.symlinkSync("../../../../..", `${root}/etc/escape`);
    Deno.symlinkSync("/etc", `${root}/abs`);
    assert.equal(secureJoin(root, "/a/b"), `${root}/a/b`);
    assert.equal(secureJoin(root, "../../etc/passwd"), `${root}/etc/passwd`);
    assert.equal(secureJoin(root, "/up/etc"), `${root}/etc`);
    assert.equal(secureJoin(root, "/etc/escape/tmp"), `${root}/tmp`);
    assert.equal(secureJoin(root, "/abs/x"), `${root}/etc/x`);
    assert.equal(secureJoin(root, "/"), root);
    Deno.symlinkSync("loop", `${root}/loop`);
    assert.throws(() => secureJoin(root, "/loop"), /too many symlinks/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("mount options split into flags, propagation and data", () => {
  const o = parseMountOptions(["nosuid", "ro", "rw", "noexec", "rprivate", "size=64k", "mode=755"]);
  assert.equal(o.flags, MS.NOSUID | MS.NOEXEC);
  assert.deepEqual(o.propagation, [MS.PRIVATE | MS.REC]);
  assert.deepEqual(o.data, ["size=64k", "mode=755"]);
  assert.equal(parseMountOptions(["rbind", "ro"]).flags, MS.BIND | MS.REC | MS.RDONLY);
  assert.throws(() => parseMountOptions(["idmap"]), /idmap.*not supported/);
});

import assert from "node:assert/strict";
import { applyLayer, cleanEntryName } from "./apply_layer.ts";
import { decodePax, XATTRS } from "./pax.ts";
import { sha256Digest } from "../digest.ts";
import { lgetxattr } from "../../../runtime/linux/libc.ts";
import {
  gzip,
  makeTar,
  streamOf,
  type TarEntry,
  zstd,
} from "../../../tests/helpers/image_layers.ts";

const ENTRIES: TarEntry[] = [
  { name: "etc/", type: "directory", mode: 0o755, mtime: new Date(1_600_000_000_000) },
  { name: "etc/hosts", content: "127.0.0.1 localhost\n", uid: 1000, gid: 1001 },
  { name: "bin/su", content: "#!/bin/sh\n", mode: 0o4755 },
  { name: "bin/su-link", type: "link", linkname: "bin/su", mode: 0o4755 },
  { name: "bin/sh", type: "symlink", linkname: "/bin/busybox", uid: 5, gid: 6 },
  { name: "dev/null2", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
  { name: "dev/blk", type: "block-device", devmajor: 7, devminor: 0, mode: 0o600 },
  { name: "dev/fifo", type: "fifo", mode: 0o640 },
  { name: "opaque/", type: "directory" },
  { name: "opaque/.wh..wh..opq" },
  { name: "opaque/kept", content: "k" },
  { name: "gone/.wh.file" },
  { name: "./tagged", content: "x", pax: { "SCHILY.xattr.user.color": "blue" } },
  { name: "precise", content: "t", pax: { mtime: "1700000000.123456789" } },
];

async function apply(
  bytes: Uint8Array,
): Promise<{ dir: string; result: Awaited<ReturnType<typeof applyLayer>> }> {
  const dir = await Deno.makeTempDir({ prefix: "berth-apply-" });
  try {
    return { dir, result: await applyLayer(streamOf(bytes), dir) };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

Deno.test("applyLayer: every entry kind, whiteouts, metadata; gzip, zstd and plain", async () => {
  const raw = await makeTar(ENTRIES);
  for (const [kind, data] of [["none", raw], ["gzip", gzip(raw)], ["zstd", zstd(raw)]] as const) {
    const { dir, result } = await apply(data);
    try {
      assert.equal(result.compression, kind);
      assert.equal(result.diffId, sha256Digest(raw));
      assert.equal(result.size, 20 + 10 + 1 + 1 + 1);
      const hosts = Deno.lstatSync(`${dir}/etc/hosts`);
      assert.equal(hosts.uid, 1000);
      assert.equal(hosts.gid, 1001);
      assert.equal(Deno.statSync(`${dir}/etc`).mtime!.getTime(), 1_600_000_000_000);
      assert.equal(Deno.statSync(`${dir}/bin/su`).mode! & 0o7777, 0o4755);
      assert.equal(Deno.statSync(`${dir}/bin/su`).ino, Deno.statSync(`${dir}/bin/su-link`).ino);
      assert.equal(Deno.readLinkSync(`${dir}/bin/sh`), "/bin/busybox");
      assert.equal(Deno.lstatSync(`${dir}/bin/sh`).uid, 5);
      const cdev = Deno.lstatSync(`${dir}/dev/null2`);
      assert.ok(cdev.isCharDevice);
      assert.equal(cdev.rdev, (1 << 8) | 3);
      assert.ok(Deno.lstatSync(`${dir}/dev/blk`).isBlockDevice);
      assert.ok(Deno.lstatSync(`${dir}/dev/fifo`).isFifo);
      assert.equal(
        new TextDecoder().decode(lgetxattr(`${dir}/opaque`, "trusted.overlay.opaque")!),
        "y",
      );
      assert.ok(!Deno.readDirSync(`${dir}/opaque`).some((e) => e.name.startsWith(".wh.")));
      const wh = Deno.lstatSync(`${dir}/gone/file`);
      assert.ok(wh.isCharDevice);
      assert.equal(wh.rdev, 0);
      assert.equal(new TextDecoder().decode(lgetxattr(`${dir}/tagged`, "user.color")!), "blue");
      const precise = Deno.lstatSync(`${dir}/precise`);
      assert.equal(precise.mtime!.getTime(), 1_700_000_000_123);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("applyLayer: entries that leave the layer are refused", async () => {
  const cases: TarEntry[][] = [
    [{ name: "../escape", content: "x" }],
    [{ name: "/../../escape", content: "x" }],
    [{ name: "a/../../escape", content: "x" }],
    [{ name: "evil", type: "symlink", linkname: "/tmp" }, { name: "evil/pwned", content: "x" }],
    [{ name: "evil", type: "symlink", linkname: "." }, { name: "evil/.wh.x" }],
    [{ name: "d/", type: "directory" }, { name: "l", type: "link", linkname: "../../etc/passwd" }],
    [{ name: "s", type: "symlink", linkname: "/etc" }, {
      name: "l",
      type: "link",
      linkname: "s/passwd",
    }],
  ];
  for (const entries of cases) {
    const before = [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((n) => n === "pwned");
    await assert.rejects(
      apply(await makeTar(entries)),
      /outside of the layer|is a symlink/,
      JSON.stringify(entries),
    );
    assert.deepEqual(before, []);
  }
});

Deno.test("applyLayer: garbage input is an error", async () => {
  await assert.rejects(apply(gzip(new TextEncoder().encode("not a tar at all ".repeat(100)))));
  await assert.rejects(apply(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5])));
});

Deno.test("pax: binary xattr values are kept byte for byte", () => {
  const value = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x80]);
  const key = new TextEncoder().encode(" SCHILY.xattr.security.capability=");
  const body = new Uint8Array(key.length + value.length + 1);
  body.set(key);
  body.set(value, key.length);
  body[body.length - 1] = 0x0a;
  let len = body.length + 2;
  if (String(len).length + body.length !== len) len = String(len + 1).length + body.length;
  const rec = new Uint8Array([...new TextEncoder().encode(String(len)), ...body]);
  const pax = decodePax(rec);
  assert.deepEqual((pax[XATTRS] as Map<string, Uint8Array>).get("security.capability"), value);
});

Deno.test("cleanEntryName", () => {
  assert.equal(cleanEntryName("./a/b/"), "a/b");
  assert.equal(cleanEntryName("/a//b"), "a/b");
  assert.equal(cleanEntryName("./"), "");
  assert.equal(cleanEntryName("a/../b"), "b");
  assert.throws(() => cleanEntryName("a/../../b"), /outside/);
});

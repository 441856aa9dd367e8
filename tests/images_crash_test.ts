/**
 * kill -9 in the middle of image work (loads, tags, rootfs preparation,
 * removals in a loop, in a child process), then a restart of the image
 * service on the same root: every recorded image is whole (config,
 * manifest, layer blobs, snapshots), every container rootfs still mounts
 * its chain, and no temp or half-made directory is left.
 */
import assert from "node:assert/strict";
import { ImageService } from "../daemon/images/service.ts";
import { loadImages } from "../daemon/images/load.ts";
import { buildImage, ociArchive, richImageLayers } from "./helpers/image_layers.ts";
import { REPO } from "./helpers/runtime.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function checkWhole(
  root: string,
  archive: string,
): Promise<{ images: number; active: number }> {
  const svc = new ImageService({ root, dockerConfigPath: null });
  await svc.init();
  for (const r of svc.images.all()) {
    const m = await svc.manifestOf(r);
    await svc.configOf(r.id);
    for (const l of m.layers) assert.ok(svc.content.has(l.digest), `blob ${l.digest} of ${r.id}`);
    for (const c of await svc.chainOf(r.id)) assert.ok(svc.snapshots.layer(c), `snapshot ${c}`);
  }
  for (const a of svc.snapshots.activeSnapshots()) {
    const [mount] = svc.rootfsMounts(a.key);
    for (const o of mount.options) {
      for (const dir of o.replace(/^\w+=/, "").split(":")) {
        if (dir.startsWith("/")) Deno.statSync(dir);
      }
    }
  }
  const leftovers = [...Deno.readDirSync(`${root}/snapshots`)].filter((e) =>
    e.name.startsWith(".")
  );
  assert.deepEqual(leftovers, []);
  // And the store still works: the image loads again.
  await loadImages(svc, (await Deno.open(archive)).readable);
  assert.ok(svc.images.all().length >= 1);
  return { images: svc.images.all().length, active: svc.snapshots.activeSnapshots().length };
}

Deno.test("images: kill -9 mid-work loses nothing that was recorded", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-images-crash-" });
  try {
    const img = await buildImage({ layers: richImageLayers() });
    await Deno.writeFile(
      `${dir}/image.tar`,
      await ociArchive([{ img, name: "docker.io/library/crash:1" }]),
    );
    for (let i = 0; i < 3; i++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${REPO}/tests/helpers/images_crash_child.ts`,
          `${dir}/store`,
          `${dir}/image.tar`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value).trim(), "ready");
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      reader.releaseLock();
      await child.stdout.cancel();
      const { images, active } = await checkWhole(`${dir}/store`, `${dir}/image.tar`);
      assert.ok(active >= 1, "container rootfs made before the kill are kept");
      assert.ok(images >= 1);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

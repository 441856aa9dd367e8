/**
 * A container root filesystem from an image: the overlay mount berth's
 * image service returns is mounted for real, and the image's whiteouts and
 * opaque directory hide what they should; busybox runs in it (chroot);
 * changes land in the container's upper directory only.
 */
import assert from "node:assert/strict";
import { ImageService } from "../daemon/images/service.ts";
import { loadImages } from "../daemon/images/load.ts";
import { MNT_DETACH, mount, umount2 } from "../runtime/linux/libc.ts";
import { buildImage, ociArchive, richImageLayers, streamOf } from "./helpers/image_layers.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function sh(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(args[0], { args: args.slice(1), stdin: "null" }).output();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout) + td.decode(o.stderr) };
}

Deno.test("images: a container rootfs mounted from the overlay spec", T, async () => {
  const root = await Deno.makeTempDir({ prefix: "berth-images-" });
  const target = `${root}/merged`;
  let mounted = false;
  try {
    const svc = new ImageService({ root: `${root}/store`, dockerConfigPath: null });
    await svc.init();
    const img = await buildImage({ layers: richImageLayers() });
    await loadImages(svc, streamOf(await ociArchive([{ img, name: "docker.io/library/rich:v1" }])));

    const mounts = await svc.prepareRootfs("ctr-1", "rich:v1");
    assert.equal(mounts.length, 1);
    const m = mounts[0];
    assert.equal(m.type, "overlay");
    assert.equal(m.source, "overlay");
    const opt = (k: string) => m.options.find((o) => o.startsWith(`${k}=`))!.slice(k.length + 1);
    assert.equal(opt("lowerdir").split(":").length, 3);
    await assert.rejects(svc.prepareRootfs("ctr-1", "rich:v1"), /already exists/);
    assert.deepEqual(svc.rootfsMounts("ctr-1"), mounts);

    await Deno.mkdir(target);
    mount(m.source, target, m.type, 0, m.options.join(","));
    mounted = true;

    assert.deepEqual(
      [...Deno.readDirSync(`${target}/data`)].map((e) => e.name),
      ["c"],
      "opaque /data",
    );
    assert.throws(
      () => Deno.lstatSync(`${target}/old`),
      Deno.errors.NotFound,
      "whiteout hides /old",
    );
    assert.equal(Deno.readTextFileSync(`${target}/etc/motd`), "layer 3\n");
    assert.equal(Deno.statSync(`${target}/usr/bin/suid`).mode! & 0o7777, 0o4755);

    const run = await sh([
      "chroot",
      target,
      "/bin/sh",
      "-c",
      "cat /data/c; ls /data; test -e /old || echo no-old; stat -c '%u:%g %a' /owned; " +
      "stat -c '%t:%T' /dev/mynull; rm /etc/passwd /data/c; echo new > /created",
    ]);
    assert.equal(run.code, 0, run.out);
    assert.equal(run.out, "c from layer 2\nc\nno-old\n1000:1000 640\n1:3\n");

    // Changes went to the container's upper dir: whiteouts for removals.
    const upper = opt("upperdir");
    assert.equal(Deno.readTextFileSync(`${upper}/created`), "new\n");
    const wh = Deno.lstatSync(`${upper}/etc/passwd`);
    assert.ok(wh.isCharDevice && wh.rdev === 0, "overlay whiteout in the upper dir");
    // The image's layers are untouched.
    for (const lower of opt("lowerdir").split(":")) {
      assert.throws(() => Deno.lstatSync(`${lower}/created`), Deno.errors.NotFound);
    }

    umount2(target, MNT_DETACH);
    mounted = false;
    await svc.removeRootfs("ctr-1");
    assert.throws(() => svc.rootfsMounts("ctr-1"), /does not exist/);
    assert.throws(() => Deno.lstatSync(upper), Deno.errors.NotFound);
  } finally {
    if (mounted) umount2(target, MNT_DETACH);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("images: an image without layers gets a bind mount of its upper dir", T, async () => {
  const root = await Deno.makeTempDir({ prefix: "berth-images-" });
  try {
    const svc = new ImageService({ root, dockerConfigPath: null });
    const img = await buildImage({ layers: [] });
    await loadImages(svc, streamOf(await ociArchive([{ img, name: "docker.io/library/empty:1" }])));
    const [m] = await svc.prepareRootfs("c", "empty:1");
    assert.equal(m.type, "bind");
    assert.deepEqual(m.options, ["rbind", "rw"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

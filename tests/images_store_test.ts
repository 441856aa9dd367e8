/**
 * The image store without a registry: tag, remove (untag vs delete, and the
 * conflicts with containers), prune, save → load round trips (berth's own
 * archives, skopeo's docker-archive and oci-archive), loads of bad archives,
 * and persistence across a restart.
 */
import assert from "node:assert/strict";
import { type ContainerUse, ImageService } from "../daemon/images/service.ts";
import { loadImages } from "../daemon/images/load.ts";
import { saveImages } from "../daemon/images/save.ts";
import { pruneImages, removeImage } from "../daemon/images/remove.ts";
import { inspectImage, listImages } from "../daemon/images/inspect.ts";
import type { JsonMessage } from "../daemon/images/api_types.ts";
import {
  buildImage,
  type BuiltImage,
  makeTar,
  manifestDescriptor,
  ociArchive,
  richImageLayers,
  streamOf,
  writeOciLayout,
} from "./helpers/image_layers.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function bytesOf(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function fixture() {
  const root = await Deno.makeTempDir({ prefix: "berth-images-" });
  const users = new Map<string, ContainerUse[]>();
  const make = () =>
    new ImageService({
      root: `${root}/store`,
      dockerConfigPath: null,
      containersUsing: (id) => users.get(id) ?? [],
    });
  const svc = make();
  await svc.init();
  return { root, svc, users, make, cleanup: () => Deno.remove(root, { recursive: true }) };
}

async function load(svc: ImageService, imgs: { img: BuiltImage; name?: string }[]) {
  const msgs: JsonMessage[] = [];
  const r = await loadImages(svc, streamOf(await ociArchive(imgs)), (m) => msgs.push(m));
  return { ...r, msgs };
}

let richCache: BuiltImage | undefined;
const rich = async () => richCache ??= await buildImage({ layers: richImageLayers() });
const small = (text: string) =>
  buildImage({ layers: [richImageLayers()[0], { entries: [{ name: "f", content: text }] }] });

Deno.test("images: tag, untag and delete, with Docker's conflicts", T, async () => {
  const { svc, users, cleanup } = await fixture();
  try {
    const img = await rich();
    const { msgs } = await load(svc, [{ img, name: "docker.io/library/rich:v1" }]);
    assert.deepEqual(msgs.filter((m) => m.stream), [{ stream: "Loaded image: rich:v1\n" }]);
    const id = img.configDigest;

    assert.equal(svc.tag("rich:v1", "rich", "v2"), "rich:v2");
    assert.equal(svc.tag(id.slice(7, 19), "other/name:x"), "other/name:x");
    assert.equal(svc.tag("rich:v1", "localhost:5000/rich"), "localhost:5000/rich:latest");
    assert.deepEqual(svc.repoTags(id).sort(), [
      "localhost:5000/rich:latest",
      "other/name:x",
      "rich:v1",
      "rich:v2",
    ]);
    assert.throws(
      () => svc.tag("rich:v1", "rich@sha256:" + "a".repeat(64)),
      /refusing to create a tag with a digest reference/,
    );
    assert.throws(() => svc.tag("rich:v1", "Bad"), /invalid reference format/);
    assert.throws(() => svc.tag("rich:v1", "rich", "-x"), /invalid tag format/);
    assert.throws(() => svc.tag("nope:1", "rich"), /No such image: nope:1/);
    assert.ok((await inspectImage(svc, "rich:v2")).Metadata.LastTagTime);

    // Untag by name while other references remain.
    assert.deepEqual(await removeImage(svc, "rich:v2"), [{ Untagged: "rich:v2" }]);
    await assert.rejects(removeImage(svc, "rich:v2"), /No such image: rich:v2/);
    // By id with references in several repositories: must be forced.
    await assert.rejects(
      removeImage(svc, id),
      /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/,
    );
    assert.deepEqual(await removeImage(svc, "other/name:x"), [{ Untagged: "other/name:x" }]);
    assert.deepEqual(await removeImage(svc, "localhost:5000/rich"), [{
      Untagged: "localhost:5000/rich:latest",
    }]);

    // A stopped container uses it: the last tag cannot go without force.
    users.set(id, [{ id: "c".repeat(64), running: false }]);
    await assert.rejects(
      removeImage(svc, "rich:v1"),
      /conflict: unable to remove repository reference "rich:v1" \(must force\) - container cccccccccccc is using its referenced image/,
    );
    await assert.rejects(
      removeImage(svc, id),
      /\(must be forced\) - image is being used by stopped container cccccccccccc/,
    );
    // A running one: cannot be forced by id; by name, force only untags.
    users.set(id, [{ id: "d".repeat(64), running: true }]);
    await assert.rejects(
      removeImage(svc, id, { force: true }),
      /\(cannot be forced\) - image is being used by running container dddddddddddd/,
    );
    assert.deepEqual(await removeImage(svc, "rich:v1", { force: true }), [{ Untagged: "rich:v1" }]);
    assert.ok(svc.images.get(id), "still there, dangling");
    assert.equal((await listImages(svc, { filters: { dangling: ["true"] } })).length, 1);
    // Prune keeps images that containers use.
    assert.deepEqual(await pruneImages(svc), { ImagesDeleted: null, SpaceReclaimed: 0 });

    users.delete(id);
    const gone = await removeImage(svc, id);
    assert.deepEqual(gone[0], { Deleted: id });
    assert.equal(gone.length, 1 + 3, "the image and its three layers");
    assert.equal(svc.snapshots.layers().length, 0);
    assert.deepEqual(svc.content.list(), []);
    await assert.rejects(removeImage(svc, id), /No such image/);
  } finally {
    await cleanup();
  }
});

Deno.test(
  "images: layers shared between images stay until the last one goes; prune",
  T,
  async () => {
    const { svc, users, cleanup } = await fixture();
    try {
      const a = await small("a"), b = await small("b"), c = await small("c");
      await load(svc, [{ img: a, name: "docker.io/library/a:1" }, {
        img: b,
        name: "docker.io/library/b:1",
      }, { img: c }]);
      assert.equal(svc.snapshots.layers().length, 4, "one shared base, three tops");
      const removed = await removeImage(svc, "a:1");
      assert.deepEqual(removed.slice(0, 2), [{ Untagged: "a:1" }, { Deleted: a.configDigest }]);
      assert.equal(removed.length, 3, "only a's top layer");
      assert.equal(svc.snapshots.layers().length, 3);

      // c is dangling: plain prune removes it; prune -a removes b too unless a container uses it.
      const p1 = await pruneImages(svc);
      assert.deepEqual(p1.ImagesDeleted?.[0], { Deleted: c.configDigest });
      assert.ok(p1.SpaceReclaimed > 0);
      users.set(b.configDigest, [{ id: "e".repeat(64), running: false }]);
      assert.equal((await pruneImages(svc, { all: true })).ImagesDeleted, null);
      users.clear();
      const p2 = await pruneImages(svc, { all: true, filters: { label: ["nope"] } });
      assert.equal(p2.ImagesDeleted, null);
      const p3 = await pruneImages(svc, {
        all: true,
        filters: { until: ["2030-01-01T00:00:00Z"] },
      });
      assert.deepEqual(p3.ImagesDeleted?.slice(0, 2), [{ Untagged: "b:1" }, {
        Deleted: b.configDigest,
      }]);
      assert.ok(p3.SpaceReclaimed > 1_000_000, "the busybox layer went too");
      assert.equal(svc.snapshots.layers().length, 0);
      assert.deepEqual(svc.content.list(), []);
    } finally {
      await cleanup();
    }
  },
);

Deno.test("images: save → load round trip; skopeo reads berth's archive", T, async () => {
  const { root, svc, cleanup } = await fixture();
  try {
    const img = await rich();
    const other = await small("other");
    await load(svc, [{ img, name: "docker.io/library/rich:v1" }, {
      img: other,
      name: "docker.io/library/other:1",
    }]);
    svc.tag("rich:v1", "rich", "v2");
    const archive = await bytesOf(saveImages(svc, ["rich", "other:1"]));
    await Deno.writeFile(`${root}/saved.tar`, archive);

    // What the archive holds, as `tar` lists it.
    const list = await new Deno.Command("tar", { args: ["-tf", `${root}/saved.tar`] }).output();
    const names = new TextDecoder().decode(list.stdout).split("\n");
    for (const n of ["manifest.json", "index.json", "oci-layout", "repositories"]) {
      assert.ok(names.includes(n), n);
    }
    const x = await new Deno.Command("tar", {
      args: ["-xf", `${root}/saved.tar`, "-C", root, "manifest.json", "repositories"],
    }).output();
    assert.ok(x.success);
    const manifestJson = JSON.parse(await Deno.readTextFile(`${root}/manifest.json`));
    assert.equal(manifestJson.length, 2);
    assert.deepEqual(manifestJson[0].RepoTags.sort(), ["rich:v1", "rich:v2"]);
    assert.equal(manifestJson[0].Config, `blobs/sha256/${img.configDigest.slice(7)}`);
    assert.equal(manifestJson[0].Layers.length, 3);
    const repos = JSON.parse(await Deno.readTextFile(`${root}/repositories`));
    assert.deepEqual(Object.keys(repos).sort(), ["other", "rich"]);

    // An independent reader: skopeo takes it as a docker-archive and as an OCI archive.
    for (
      const transport of [
        `docker-archive:${root}/saved.tar:rich:v1`,
        `oci-archive:${root}/saved.tar:v1`,
      ]
    ) {
      const out = await new Deno.Command("skopeo", { args: ["inspect", "--config", transport] })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.deepEqual(
        JSON.parse(new TextDecoder().decode(out.stdout)).rootfs.diff_ids,
        img.diffIds,
      );
    }

    // Loaded into an empty store: same ids, same tags, same layers.
    const fresh = new ImageService({ root: `${root}/fresh`, dockerConfigPath: null });
    const msgs: JsonMessage[] = [];
    const r = await loadImages(fresh, streamOf(archive), (m) => msgs.push(m));
    assert.deepEqual(r.ids, [img.configDigest, other.configDigest]);
    assert.deepEqual(r.tags.sort(), ["other:1", "rich:v1", "rich:v2"]);
    assert.ok(msgs.some((m) => m.status === "Loading layer" && m.progress));
    const info = await inspectImage(fresh, "rich:v2");
    assert.deepEqual(info.RootFS.Layers, img.diffIds);
    assert.equal(info.Size, (await inspectImage(svc, "rich:v1")).Size);
    // Loading again over the same store changes nothing and says the same.
    const again = await loadImages(svc, streamOf(archive));
    assert.deepEqual(again.ids, r.ids);
    assert.equal(svc.images.all().length, 2);
  } finally {
    await cleanup();
  }
});

Deno.test(
  "images: load of skopeo's docker-archive and oci-archive",
  T,
  async () => {
    const { root, svc, cleanup } = await fixture();
    try {
      // skopeo writes no zstd into docker archives: gzip and plain layers here.
      const img = await buildImage({
        layers: richImageLayers().map((l) => ({
          ...l,
          compression: l.compression === "zstd" ? "gzip" as const : l.compression,
        })),
      });
      await writeOciLayout(`${root}/layout`, [{
        descriptor: manifestDescriptor(img),
        refName: "v1",
        blobs: img.blobs,
      }]);
      const run = async (args: string[]) => {
        const o = await new Deno.Command("skopeo", { args, stdin: "null" }).output();
        assert.ok(o.success, new TextDecoder().decode(o.stderr));
      };
      await run([
        "copy",
        "--quiet",
        `oci:${root}/layout:v1`,
        `docker-archive:${root}/docker.tar:legacy/rich:v1`,
      ]);
      await run(["copy", "--quiet", `oci:${root}/layout:v1`, `oci-archive:${root}/oci.tar:v1`]);

      const r1 = await loadImages(svc, streamOf(await Deno.readFile(`${root}/docker.tar`)));
      assert.deepEqual(r1.tags, ["legacy/rich:v1"]);
      assert.equal(r1.ids[0], img.configDigest);
      // skopeo's OCI archive names only the tag ("v1"): the image loads untagged, as in Docker.
      const msgs: JsonMessage[] = [];
      const r2 = await loadImages(
        svc,
        streamOf(await Deno.readFile(`${root}/oci.tar`)),
        (m) => msgs.push(m),
      );
      assert.deepEqual(r2.tags, []);
      assert.deepEqual(
        msgs.filter((m) => m.stream),
        [{ stream: `Loaded image ID: ${img.configDigest}\n` }],
      );
      assert.equal(svc.snapshots.layers().length, 3, "nothing unpacked twice");
    } finally {
      await cleanup();
    }
  },
);

Deno.test("images: bad archives are refused and leave nothing", T, async () => {
  const { svc, cleanup } = await fixture();
  try {
    const img = await small("x");
    const bad = async (bytes: Uint8Array, re: RegExp) => {
      await assert.rejects(loadImages(svc, streamOf(bytes)), re);
      assert.equal(svc.images.all().length, 0);
    };
    await bad(new TextEncoder().encode("garbage, not a tar".repeat(50)), /invalid archive/);
    await bad(await makeTar([{ name: "hello", content: "x" }]), /neither manifest.json/);
    await bad(await makeTar([{ name: "../escape", content: "x" }]), /outside/);
    await bad(
      await makeTar([{
        name: "manifest.json",
        content: JSON.stringify([{ Config: "../../etc/passwd", RepoTags: [], Layers: [] }]),
      }]),
      /points outside the archive|is missing/,
    );
    // A blob whose bytes do not match its name.
    const layout = await makeTar([
      { name: "oci-layout", content: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
      {
        name: "index.json",
        content: JSON.stringify({ schemaVersion: 2, manifests: [manifestDescriptor(img)] }),
      },
      ...[...img.blobs].map(([d, b]) => ({
        name: `blobs/sha256/${d.slice(7)}`,
        content: d === img.manifest.layers[1].digest ? b.map((x) => x ^ 1) : b,
      })),
    ]);
    await bad(layout, /verification failed|has digest/);
    assert.ok(!svc.content.has(img.manifest.layers[1].digest));
  } finally {
    await cleanup();
  }
});

Deno.test("images: everything survives a restart; a crash's leftovers are swept", T, async () => {
  const { root, svc, make, cleanup } = await fixture();
  try {
    const img = await rich();
    await load(svc, [{ img, name: "docker.io/library/rich:v1" }]);
    svc.tag("rich:v1", "kept:1");
    const mounts = await svc.prepareRootfs("ctr", "kept:1");
    // Leftovers of a crash: a half-unpacked snapshot, a temp blob, a partial download.
    await Deno.mkdir(`${root}/store/snapshots/.tmp-crash/fs`, { recursive: true });
    await Deno.mkdir(`${root}/store/snapshots/99/fs`, { recursive: true }); // no meta.json
    await Deno.writeTextFile(`${root}/store/content/blobs/sha256/.tmp-crash`, "x");

    const after = make();
    await after.init();
    assert.deepEqual(after.repoTags(img.configDigest).sort(), ["kept:1", "rich:v1"]);
    assert.deepEqual(after.rootfsMounts("ctr"), mounts);
    assert.equal(after.snapshots.layers().length, 3);
    assert.deepEqual((await inspectImage(after, "kept:1")).RootFS.Layers, img.diffIds);
    const left = [...Deno.readDirSync(`${root}/store/snapshots`)].map((e) => e.name).sort();
    assert.ok(!left.includes(".tmp-crash") && !left.includes("99"), left.join(" "));
    assert.throws(() => Deno.statSync(`${root}/store/content/blobs/sha256/.tmp-crash`));
    // The container's layer keeps the image's layers even after a forced rmi.
    await removeImage(after, "rich:v1");
    await removeImage(after, "kept:1", { force: true });
    assert.equal(after.images.all().length, 0);
    assert.equal(after.snapshots.layers().length, 3, "kept for the container");
    await after.removeRootfs("ctr");
    await pruneImages(after);
    assert.equal(after.snapshots.layers().length, 0);
  } finally {
    await cleanup();
  }
});

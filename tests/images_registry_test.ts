/**
 * Pulls from Debian's docker-registry (distribution 2.8) on loopback, images
 * pushed there by skopeo from OCI layouts written by the tests: htpasswd
 * basic auth (credentials from X-Registry-Auth or config.json), a
 * multi-layer image with every kind of tar entry, a multi-platform index,
 * shared layers between images, and docker.io through a registry mirror.
 */
import assert from "node:assert/strict";
import { ImageService } from "../daemon/images/service.ts";
import { pull } from "../daemon/images/pull.ts";
import { imageHistory, inspectImage, listImages } from "../daemon/images/inspect.ts";
import type { JsonMessage } from "../daemon/images/api_types.ts";
import { lgetxattr } from "../runtime/linux/libc.ts";
import {
  buildImage,
  buildIndex,
  manifestDescriptor,
  richImageLayers,
  writeOciLayout,
} from "./helpers/image_layers.ts";
import { skopeoPush, startRegistry, type TestRegistry } from "./helpers/registry.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

async function newService(opts: Partial<ConstructorParameters<typeof ImageService>[0]> = {}) {
  const root = await tempDir("berth-images-");
  const svc = new ImageService({ root, dockerConfigPath: null, ...opts });
  await svc.init();
  return { svc, root, cleanup: () => Deno.remove(root, { recursive: true }) };
}

Deno.test("images: pull from docker-registry with htpasswd auth", T, async (t) => {
  let reg: TestRegistry | undefined;
  const layout = await tempDir("berth-layout-");
  const { svc, root, cleanup } = await newService();
  try {
    reg = await startRegistry({ user: "alice", password: "s3cret" });
    const img = await buildImage({ layers: richImageLayers(), labels: { "org.test": "rich" } });
    const base = await buildImage({
      layers: [richImageLayers()[0], {
        entries: [{ name: "other", content: "another top layer\n" }],
      }],
    });
    await writeOciLayout(layout, [
      { descriptor: manifestDescriptor(img), refName: "v1", blobs: img.blobs },
      { descriptor: manifestDescriptor(base), refName: "base", blobs: base.blobs },
    ]);
    await skopeoPush(`${layout}:v1`, `${reg.host}/rich:v1`, { creds: "alice:s3cret" });
    await skopeoPush(`${layout}:base`, `${reg.host}/other:v1`, { creds: "alice:s3cret" });
    const ref = `${reg.host}/rich:v1`;

    await t.step("no credentials, wrong credentials: clear errors, nothing stored", async () => {
      await assert.rejects(pull(svc, { ref }), /no basic auth credentials/);
      await assert.rejects(
        pull(svc, { ref, auth: { username: "alice", password: "wrong" } }),
        /unauthorized: authentication required/,
      );
      assert.equal(svc.images.all().length, 0);
      assert.equal(svc.content.list().length, 0);
    });

    await t.step("pull with X-Registry-Auth credentials: Docker's progress stream", async () => {
      const msgs: JsonMessage[] = [];
      const start = performance.now();
      const r = await pull(svc, {
        ref,
        auth: { username: "alice", password: "s3cret", serveraddress: reg!.host },
        progress: (m) => msgs.push(m),
      });
      const ms = performance.now() - start;
      console.log(
        `pull of a 3-layer image (${
          img.manifest.layers.reduce((n, l) => n + l.size, 0)
        } bytes) took ${ms.toFixed(0)} ms`,
      );
      assert.equal(r.record.id, img.configDigest);
      assert.deepEqual(msgs[0], { status: "Pulling from rich", id: "v1" });
      const layerIds = img.manifest.layers.map((l) => l.digest.slice(7, 19));
      for (const id of layerIds) {
        const statuses = msgs.filter((m) => m.id === id).map((m) => m.status);
        assert.equal(statuses[0], "Pulling fs layer");
        for (
          const s of [
            "Downloading",
            "Verifying Checksum",
            "Download complete",
            "Extracting",
            "Pull complete",
          ]
        ) {
          assert.ok(statuses.includes(s), `${id}: ${s} in ${statuses}`);
        }
        assert.equal(statuses[statuses.length - 1], "Pull complete");
      }
      const dl = msgs.find((m) => m.status === "Downloading" && m.progress);
      assert.match(dl!.progress!, /^\[=*>\s*\]\s+\S+\/\S+$/);
      assert.deepEqual(msgs.at(-2), { status: `Digest: ${img.manifestDigest}` });
      assert.deepEqual(msgs.at(-1), { status: `Status: Downloaded newer image for ${ref}` });

      const again: JsonMessage[] = [];
      await pull(svc, {
        ref,
        auth: { username: "alice", password: "s3cret" },
        progress: (m) => again.push(m),
      });
      assert.ok(
        again.filter((m) => m.id && m.id !== "v1").every((m) => m.status === "Already exists"),
      );
      assert.deepEqual(again.at(-1), { status: `Status: Image is up to date for ${ref}` });
    });

    await t.step("the unpacked layers keep every kind of entry", () => {
      const chain = svc.snapshots.chain(
        svc.snapshots.layers().find((l) => !svc.snapshots.layers().some((o) => o.parent === l.key))!
          .key,
      );
      const [l3, l2, l1] = chain.map((m) => svc.snapshots.fsPath(m));
      assert.equal(Deno.readTextFileSync(`${l3}/etc/motd`), "layer 3\n");
      assert.equal(Deno.statSync(`${l3}/etc/motd`).mtime!.getTime(), 1_234_567_890_000);
      assert.ok(Deno.statSync(`${l1}/bin/busybox`).size > 100_000);
      assert.equal(Deno.readLinkSync(`${l1}/bin/sh`), "busybox");
      assert.equal(Deno.statSync(`${l1}/tmp`).mode! & 0o7777, 0o1777);
      assert.equal(
        new TextDecoder().decode(lgetxattr(`${l2}/data`, "trusted.overlay.opaque")!),
        "y",
      );
      const wh = Deno.lstatSync(`${l2}/old`);
      assert.ok(wh.isCharDevice && wh.rdev === 0, "whiteout of /old");
      assert.equal(Deno.statSync(`${l2}/usr/bin/suid`).mode! & 0o7777, 0o4755);
      assert.equal(
        Deno.statSync(`${l2}/usr/bin/suid`).ino,
        Deno.statSync(`${l2}/usr/bin/suid-link`).ino,
      );
      assert.equal(Deno.statSync(`${l2}/usr/bin/suid`).nlink, 2);
      const dev = Deno.lstatSync(`${l2}/dev/mynull`);
      assert.ok(dev.isCharDevice && dev.rdev === ((1 << 8) | 3));
      assert.ok(Deno.lstatSync(`${l2}/dev/pipe`).isFifo);
      const owned = Deno.lstatSync(`${l2}/owned`);
      assert.deepEqual([owned.uid, owned.gid, owned.mode! & 0o777], [1000, 1000, 0o640]);
      assert.equal(new TextDecoder().decode(lgetxattr(`${l2}/tagged`, "user.berth")!), "yes");
    });

    await t.step("inspect, list, history", async () => {
      const info = await inspectImage(svc, ref);
      assert.equal(info.Id, img.configDigest);
      assert.deepEqual(info.RepoTags, [ref]);
      assert.deepEqual(info.RepoDigests, [`${reg!.host}/rich@${img.manifestDigest}`]);
      assert.deepEqual(info.RootFS, { Type: "layers", Layers: img.diffIds });
      assert.equal(info.Architecture, "amd64");
      assert.equal(info.Os, "linux");
      assert.deepEqual(info.Config?.Cmd, ["sh"]);
      assert.equal(info.GraphDriver.Name, "overlay2");
      assert.equal(info.GraphDriver.Data!.LowerDir.split(":").length, 2);
      assert.ok(info.Size > 1_000_000);
      assert.equal(info.Created, "2024-01-02T03:04:05Z");
      assert.equal((await inspectImage(svc, img.configDigest.slice(7, 19))).Id, info.Id);
      assert.equal(
        (await inspectImage(svc, `${reg!.host}/rich@${img.manifestDigest}`)).Id,
        info.Id,
      );

      const list = await listImages(svc);
      assert.equal(list.length, 1);
      assert.equal(list[0].Size, info.Size);
      assert.equal(list[0].Created, Date.parse("2024-01-02T03:04:05Z") / 1000);
      assert.deepEqual(list[0].Labels, { "org.test": "rich" });
      assert.equal((await listImages(svc, { filters: { label: ["org.test=rich"] } })).length, 1);
      assert.equal((await listImages(svc, { filters: { label: ["org.test=x"] } })).length, 0);
      assert.equal(
        (await listImages(svc, { filters: { reference: [`${reg!.host}/ri*`] } })).length,
        1,
      );
      assert.equal((await listImages(svc, { filters: { dangling: ["true"] } })).length, 0);

      const history = await imageHistory(svc, ref);
      assert.equal(history.length, 4);
      assert.equal(history[0].Id, info.Id);
      assert.equal(history[0].Size, 0); // the CMD entry
      assert.deepEqual(history[0].Tags, [ref]);
      assert.equal(history[3].Id, "<missing>");
      assert.ok(history[3].Size > 1_000_000);
      assert.equal(history[3].CreatedBy, "/bin/sh -c #(nop) layer 0");
    });

    await t.step(
      "a second image shares the base layer snapshot; credentials from config.json",
      async () => {
        const config = `${root}/docker-config.json`;
        await Deno.writeTextFile(
          config,
          JSON.stringify({ auths: { [`http://${reg!.host}`]: { auth: btoa("alice:s3cret") } } }),
        );
        const svc2 = new ImageService({ root, dockerConfigPath: config });
        await svc2.init();
        const before = svc2.snapshots.layers().length;
        const msgs: JsonMessage[] = [];
        await pull(svc2, { ref: `${reg!.host}/other:v1`, progress: (m) => msgs.push(m) });
        assert.equal(
          svc2.snapshots.layers().length,
          before + 1,
          "only the new top layer was unpacked",
        );
        const baseId = base.manifest.layers[0].digest.slice(7, 19);
        assert.deepEqual(msgs.filter((m) => m.id === baseId).map((m) => m.status), [
          "Already exists",
        ]);
        assert.equal(svc2.images.all().length, 2);
      },
    );
  } finally {
    await reg?.stop();
    await Deno.remove(layout, { recursive: true });
    await cleanup();
  }
});

Deno.test(
  "images: multi-platform index and a docker.io mirror (registry without auth)",
  T,
  async (t) => {
    let reg: TestRegistry | undefined;
    const layout = await tempDir("berth-layout-");
    const { svc, cleanup } = await newService({
      registryMirrors: [],
    });
    try {
      reg = await startRegistry();
      const amd = await buildImage({
        layers: [{ entries: [{ name: "arch", content: "amd64\n" }] }],
        platform: { os: "linux", architecture: "amd64" },
      });
      const arm = await buildImage({
        layers: [{ entries: [{ name: "arch", content: "arm64\n" }] }],
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      });
      const index = buildIndex([amd, arm]);
      const blobs = new Map([...amd.blobs, ...arm.blobs, [index.digest, index.bytes]]);
      await writeOciLayout(layout, [{
        descriptor: {
          mediaType: index.index.mediaType!,
          digest: index.digest,
          size: index.bytes.length,
        },
        refName: "multi",
        blobs,
      }]);
      await skopeoPush(`${layout}:multi`, `${reg.host}/multi:v1`, { all: true });
      await skopeoPush(`${layout}:multi`, `${reg.host}/library/mirrored:v2`, { all: true });

      await t.step("the host's platform by default, another on request", async () => {
        const r = await pull(svc, { ref: `${reg!.host}/multi:v1`, platform: "linux/amd64" });
        assert.equal(r.record.id, amd.configDigest);
        assert.equal(r.record.target.digest, amd.manifestDigest);
        const info = await inspectImage(svc, `${reg!.host}/multi:v1`);
        assert.deepEqual(info.RepoDigests, [`${reg!.host}/multi@${index.digest}`]);
        const a = await pull(svc, { ref: `${reg!.host}/multi:v1`, platform: "linux/arm64" });
        assert.equal(a.record.id, arm.configDigest);
        assert.equal((await inspectImage(svc, `${reg!.host}/multi:v1`)).Architecture, "arm64");
        assert.equal((await inspectImage(svc, `${reg!.host}/multi:v1`)).Variant, "v8");
        await assert.rejects(
          pull(svc, { ref: `${reg!.host}/multi:v1`, platform: "linux/s390x" }),
          /no matching manifest for linux\/s390x in the manifest list entries/,
        );
        await assert.rejects(
          pull(svc, { ref: `${reg!.host}/multi:v1`, platform: "linux" }),
          /unknown operating system or architecture/,
        );
      });

      await t.step("docker.io references go to the mirror", async () => {
        const mirrored = new ImageService({
          root: `${svc.options.root}/mirror-test`,
          dockerConfigPath: null,
          registryMirrors: [`http://${reg!.host}`],
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        });
        const r = await pull(mirrored, { ref: "mirrored:v2" });
        assert.equal(r.reference, "docker.io/library/mirrored:v2");
        assert.equal(r.record.id, arm.configDigest);
        assert.deepEqual(mirrored.repoTags(r.record.id), ["mirrored:v2"]);
        assert.deepEqual(mirrored.repoDigests(r.record.id), [`mirrored@${index.digest}`]);
      });
    } finally {
      await reg?.stop();
      await Deno.remove(layout, { recursive: true });
      await cleanup();
    }
  },
);

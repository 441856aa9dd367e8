/**
 * Pulls from a loopback registry that misbehaves on purpose: Bearer token
 * auth, a blob served with wrong bytes, a manifest that does not match its
 * digest, and a blob transfer cut short (resumed with a Range request).
 */
import assert from "node:assert/strict";
import { ImageService } from "../daemon/images/service.ts";
import { pull } from "../daemon/images/pull.ts";
import { RepositoryClient } from "../daemon/images/registry/client.ts";
import type { JsonMessage } from "../daemon/images/api_types.ts";
import { decodeRegistryAuth, encodeRegistryAuth } from "../daemon/images/registry/credentials.ts";
import { buildImage, richImageLayers } from "./helpers/image_layers.ts";
import { startFakeRegistry } from "./helpers/fake_registry.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function withService(fn: (svc: ImageService, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "berth-images-" });
  try {
    const svc = new ImageService({ root, dockerConfigPath: null });
    await svc.init();
    await fn(svc, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function nothingStored(svc: ImageService, layerDigests: string[]): void {
  assert.equal(svc.images.all().length, 0, "no image recorded");
  for (const d of layerDigests) assert.ok(!svc.content.has(d), `no blob ${d}`);
  assert.equal(svc.snapshots.layers().length, 0, "no snapshot");
}

Deno.test("images: bearer token flow, with the credentials of X-Registry-Auth", T, async () => {
  const img = await buildImage({ layers: richImageLayers() });
  const reg = startFakeRegistry({ bearer: { user: "bob", password: "pw" } });
  reg.add("team/app", "v1", img);
  try {
    await withService(async (svc) => {
      const header = encodeRegistryAuth({
        username: "bob",
        password: "pw",
        serveraddress: reg.host,
      });
      const r = await pull(svc, {
        ref: `${reg.host}/team/app:v1`,
        auth: decodeRegistryAuth(header),
      });
      assert.equal(r.record.id, img.configDigest);
      const tokenCalls = reg.requests.filter((q) => q.path.startsWith("/token"));
      assert.equal(tokenCalls.length, 1, "one token for the whole pull");
      assert.match(tokenCalls[0].path, /scope=repository%3Ateam%2Fapp%3Apull/);
      assert.match(tokenCalls[0].path, /service=fake-registry/);
      assert.ok(
        reg.requests.filter((q) => q.path.includes("/blobs/")).every((q) =>
          q.authorization?.startsWith("Bearer ")
        ),
      );

      await assert.rejects(
        pull(svc, { ref: `${reg.host}/team/app:v1`, auth: { username: "bob", password: "nope" } }),
        (e: Error) => /unauthorized/.test(e.message) && /token/.test(e.message),
      );
      await assert.rejects(pull(svc, { ref: `${reg.host}/team/app:v1` }), /unauthorized/);
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: a blob with wrong bytes fails the pull and nothing is stored", T, async () => {
  const img = await buildImage({ layers: richImageLayers() });
  const bad = img.manifest.layers[1].digest;
  const reg = startFakeRegistry({ corrupt: new Set([bad]) });
  reg.add("app", "v1", img);
  try {
    await withService(async (svc, root) => {
      const msgs: JsonMessage[] = [];
      await assert.rejects(
        pull(svc, { ref: `${reg.host}/app:v1`, progress: (m) => msgs.push(m) }),
        new RegExp(`verification failed for digest ${bad}`),
      );
      assert.equal(svc.images.all().length, 0);
      assert.ok(!svc.content.has(bad), "the bad blob is not stored");
      assert.ok(!svc.content.has(img.configDigest), "nor the config");
      assert.ok(!svc.content.has(img.manifestDigest), "nor the manifest");
      assert.deepEqual([...Deno.readDirSync(`${root}/content/ingest`)], [], "no partial data kept");
      // A fresh service on the same root drops the layers the failed pull unpacked.
      const again = new ImageService({ root, dockerConfigPath: null });
      await again.init();
      assert.equal(again.snapshots.layers().length, 0);
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: garbage and mismatching manifests are refused", T, async () => {
  const img = await buildImage({ layers: richImageLayers().slice(0, 1) });
  const reg = startFakeRegistry({ corruptManifests: new Set(["v1"]) });
  reg.add("app", "v1", img);
  reg.addIndex("app", "junk", {
    bytes: new TextEncoder().encode("this is not json"),
    digest: "sha256:" + "0".repeat(64),
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  });
  try {
    await withService(async (svc) => {
      await assert.rejects(
        pull(svc, { ref: `${reg.host}/app:v1` }),
        new RegExp(`manifest verification failed for digest ${img.manifestDigest}`),
      );
      await assert.rejects(
        pull(svc, { ref: `${reg.host}/app:junk` }),
        /verification failed|not JSON/,
      );
      await assert.rejects(
        pull(svc, { ref: `${reg.host}/app@sha256:${"1".repeat(64)}` }),
        /not found: manifest unknown/,
      );
      nothingStored(svc, img.manifest.layers.map((l) => l.digest));
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: a cut transfer resumes with a Range request", T, async () => {
  const img = await buildImage({ layers: richImageLayers() });
  const big = img.manifest.layers[0]; // busybox, about 1 MB compressed
  const reg = startFakeRegistry({ cutOnce: new Map([[big.digest, 300_000]]) });
  reg.add("app", "v1", img);
  try {
    await withService(async (svc) => {
      const msgs: JsonMessage[] = [];
      const r = await pull(svc, { ref: `${reg.host}/app:v1`, progress: (m) => msgs.push(m) });
      assert.equal(r.record.id, img.configDigest);
      const gets = reg.requests.filter((q) => q.path.endsWith(big.digest));
      assert.equal(gets.length, 2, JSON.stringify(gets));
      assert.equal(gets[0].range, undefined);
      const offset = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? "")?.[1]);
      assert.ok(offset > 0 && offset <= 300_000, `resumed from ${gets[1].range}`);
      assert.ok(msgs.some((m) => m.status?.startsWith("Retrying in")), "a retry was reported");
      assert.ok(svc.content.has(big.digest));
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: OAuth2 refresh token (identitytoken) for the bearer flow", T, async () => {
  const img = await buildImage({ layers: richImageLayers().slice(2) });
  const reg = startFakeRegistry({ refreshToken: "refresh-me" });
  reg.add("app", "v1", img);
  try {
    await withService(async (svc) => {
      await pull(svc, { ref: `${reg.host}/app:v1`, auth: { identitytoken: "refresh-me" } });
      const post = reg.requests.find((q) => q.method === "POST" && q.path === "/token");
      assert.ok(post, "the token came from a POST");
      await assert.rejects(
        pull(svc, { ref: `${reg.host}/app:v1`, auth: { identitytoken: "stale" } }),
        /unauthorized/,
      );
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: at most three layer downloads at once", T, async () => {
  const layers = Array.from({ length: 7 }, (_, i) => ({
    entries: [{ name: `f${i}`, content: `layer ${i}\n` }],
  }));
  const img = await buildImage({ layers });
  const reg = startFakeRegistry({ blobDelayMs: 150 });
  reg.add("app", "v1", img);
  try {
    await withService(async (svc) => {
      const msgs: JsonMessage[] = [];
      await pull(svc, { ref: `${reg.host}/app:v1`, progress: (m) => msgs.push(m) });
      assert.equal(reg.maxConcurrentBlobs(), 3);
      assert.equal(msgs.filter((m) => m.status === "Waiting").length, 4);
      assert.equal(svc.snapshots.layers().length, 7);
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("images: an insecure registry over HTTPS with a self-signed certificate", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-tls-" });
  const gen = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(gen.success, "openssl made a certificate");
  const tls = {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
  const img = await buildImage({ layers: richImageLayers().slice(2) });
  const reg = startFakeRegistry({ tls, bearer: { user: "u", password: "p" } });
  reg.add("secure/app", "v1", img);
  try {
    await withService(async (svc) => {
      // 127.0.0.0/8 is insecure by default: HTTPS without verification works.
      const r = await pull(svc, {
        ref: `${reg.host}/secure/app:v1`,
        auth: { username: "u", password: "p" },
      });
      assert.equal(r.record.id, img.configDigest);
      assert.ok(reg.requests.length > 0);
      // With verification (a registry that is not insecure) the certificate is refused.
      const strict = new RepositoryClient({
        repository: "secure/app",
        familiarName: "secure/app",
        endpoints: [{ url: `https://${reg.host}`, insecureTls: false, mirror: false }],
      });
      await assert.rejects(strict.manifest("v1"), /certificate|tls|ssl|fetch failed/i);
    });
  } finally {
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "images: two pulls at once share the download and the unpack of a common layer",
  T,
  async () => {
    const base = richImageLayers()[0];
    const a = await buildImage({ layers: [base, { entries: [{ name: "a", content: "a" }] }] });
    const b = await buildImage({ layers: [base, { entries: [{ name: "b", content: "b" }] }] });
    const reg = startFakeRegistry({ blobDelayMs: 100 });
    reg.add("a", "1", a);
    reg.add("b", "1", b);
    try {
      await withService(async (svc) => {
        const [ra, rb] = await Promise.all([
          pull(svc, { ref: `${reg.host}/a:1` }),
          pull(svc, { ref: `${reg.host}/b:1` }),
        ]);
        assert.equal(ra.record.id, a.configDigest);
        assert.equal(rb.record.id, b.configDigest);
        const shared = a.manifest.layers[0].digest;
        assert.equal(reg.requests.filter((q) => q.path.endsWith(shared)).length, 1);
        assert.equal(svc.snapshots.layers().length, 3);
      });
    } finally {
      await reg.stop();
    }
  },
);

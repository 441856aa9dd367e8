/**
 * dockerd's image API with a real berth dockerd, driven by the real Docker
 * CLI where it can be: pull from Debian's docker-registry with htpasswd
 * (without and with login, wrong password), images and their filters,
 * inspect, history, tag, rmi, image prune, save and load, login and
 * logout; and raw requests for what the CLI never sends (bad references,
 * unknown images, malformed filters, a registry answering garbage). Image
 * events are checked on the routes mounted in process with a real image
 * service and event bus.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { type Dockerd, startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";
import { skopeoPush, startRegistry, type TestRegistry } from "./helpers/registry.ts";
import { startFakeRegistry } from "./helpers/fake_registry.ts";
import {
  buildImage,
  type BuiltImage,
  BUSYBOX,
  manifestDescriptor,
  ociArchive,
  writeOciLayout,
} from "./helpers/image_layers.ts";
import type { Env } from "../daemon/api/app.ts";
import { imageRoutes } from "../daemon/api/routes/images.ts";
import { authRoutes } from "../daemon/api/routes/auth.ts";
import { ApiError, errorResponse } from "../daemon/api/errors.ts";
import type { Engine } from "../daemon/engine.ts";
import { type EngineEvent, EventBus } from "../daemon/events.ts";
import { encodeRegistryAuth, ImageService, type JsonMessage } from "../daemon/images/mod.ts";

const APPLETS = ["sh", "ls", "cat", "echo", "true"];

/** An image of busybox-static (one layer), and one more layer on top for a second image. */
async function testImages(): Promise<{ base: BuiltImage; app: BuiltImage }> {
  const busybox = {
    compression: "gzip" as const,
    entries: [
      { name: "bin/", type: "directory" as const },
      { name: "bin/busybox", content: Deno.readFileSync(BUSYBOX), mode: 0o755 },
      ...APPLETS.map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkname: "busybox" })),
    ],
  };
  const base = await buildImage({
    layers: [busybox],
    labels: { "org.berth.test": "base" },
    created: "2024-01-02T03:04:05Z",
  });
  const app = await buildImage({
    layers: [busybox, { entries: [{ name: "app.txt", content: "the app\n" }] }],
    labels: { "org.berth.test": "app", "tier": "web" },
    created: "2024-03-04T05:06:07Z",
  });
  return { base, app };
}

/** Lines of Docker's JSON stream (each ends with \r\n). */
function jsonLines(text: string): JsonMessage[] {
  assert.ok(text === "" || text.endsWith("\r\n"), `stream lines end with CRLF: ${text}`);
  return text.split("\r\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function api(
  d: Dockerd,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: BodyInit } = {},
): Promise<{ status: number; type: string | null; text: string; json: () => any }> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
  try {
    const res = await fetch(`http://docker${path}`, { method, client, ...opts });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      text,
      json: () => JSON.parse(text),
    };
  } finally {
    client.close();
  }
}

Deno.test("dockerd images: the Docker CLI against a registry with htpasswd", T, async (t) => {
  let reg: TestRegistry | undefined;
  let d: Dockerd | undefined;
  const layout = await Deno.makeTempDir({ prefix: "berth-layout-" });
  try {
    const { base, app } = await testImages();
    reg = await startRegistry({ user: "alice", password: "s3cret" });
    await writeOciLayout(layout, [
      { descriptor: manifestDescriptor(base), refName: "base", blobs: base.blobs },
      { descriptor: manifestDescriptor(app), refName: "app", blobs: app.blobs },
    ]);
    const R = reg.host;
    await Promise.all([
      skopeoPush(`${layout}:base`, `${R}/test/busybox:1`, { creds: "alice:s3cret" }),
      skopeoPush(`${layout}:app`, `${R}/test/app:v1`, { creds: "alice:s3cret" }),
    ]);
    d = await startDockerd();
    const dd = d;
    const docker = async (args: string[], stdin?: string) => {
      const r = await dd.docker(args, stdin === undefined ? undefined : { stdin });
      return { ...r, all: `${r.stdout}\n${r.stderr}` };
    };
    const ok = async (args: string[], stdin?: string) => {
      const r = await docker(args, stdin);
      assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.all}`);
      return r.stdout;
    };
    const configPath = `${d.dir}/docker-config/config.json`;

    await t.step("pull without login: Docker's error, nothing stored", async () => {
      const r = await docker(["pull", `${R}/test/busybox:1`]);
      assert.equal(r.code, 1, r.all);
      assert.match(r.stderr, /^Error response from daemon: .*no basic auth credentials/m);
      assert.doesNotMatch(r.all, /Login prior to pull/);
      assert.equal(await ok(["images", "-q"]), "");
    });

    await t.step("login with a wrong password: 401 and dockerd's message", async () => {
      const r = await docker(["login", "-u", "alice", "--password-stdin", R], "wrong\n");
      assert.equal(r.code, 1, r.all);
      assert.equal(
        r.stderr.trim(),
        `Error response from daemon: login attempt to http://${R}/v2/ failed with status: 401 Unauthorized`,
      );
      const raw = await api(dd, "POST", "/auth", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "alice", password: "nope", serveraddress: R }),
      });
      assert.equal(raw.status, 401);
      assert.deepEqual(raw.json(), {
        message: `login attempt to http://${R}/v2/ failed with status: 401 Unauthorized`,
      });
    });

    await t.step("login, then pull: Docker's progress; again: up to date", async () => {
      const login = await docker(["login", "-u", "alice", "--password-stdin", R], "s3cret\n");
      assert.equal(login.code, 0, login.all);
      assert.match(login.stdout, /Login Succeeded/);
      assert.ok(JSON.parse(Deno.readTextFileSync(configPath)).auths[R].auth);

      const out = await ok(["pull", `${R}/test/busybox:1`]);
      const layer = base.manifest.layers[0].digest.slice(7, 19);
      assert.match(out, /^1: Pulling from test\/busybox$/m);
      assert.match(out, new RegExp(`^${layer}: Pull complete$`, "m"));
      assert.match(out, new RegExp(`^Digest: ${base.manifestDigest}$`, "m"));
      assert.match(
        out,
        new RegExp(`^Status: Downloaded newer image for ${R}/test/busybox:1$`, "m"),
      );
      const again = await ok(["pull", `${R}/test/busybox:1`]);
      assert.match(again, new RegExp(`^Status: Image is up to date for ${R}/test/busybox:1$`, "m"));
      const byDigest = await ok(["pull", `${R}/test/busybox@${base.manifestDigest}`]);
      assert.match(
        byDigest,
        new RegExp(
          `^Status: Image is up to date for ${R}/test/busybox@${base.manifestDigest}$`,
          "m",
        ),
      );
    });

    await t.step("pull with a wrong stored password: the registry's refusal", async () => {
      const cfg = JSON.parse(Deno.readTextFileSync(configPath));
      const good = cfg.auths[R].auth;
      cfg.auths[R].auth = btoa("alice:wrong");
      Deno.writeTextFileSync(configPath, JSON.stringify(cfg));
      const r = await docker(["pull", `${R}/test/app:v1`]);
      cfg.auths[R].auth = good;
      Deno.writeTextFileSync(configPath, JSON.stringify(cfg));
      assert.equal(r.code, 1, r.all);
      assert.match(
        r.stderr,
        /^Error response from daemon: .*unauthorized: authentication required/m,
      );
      assert.equal((await ok(["images", "-q"])).trim().split("\n").length, 1);
    });

    await t.step("raw pull: the JSON stream, X-Registry-Auth, a shared layer", async () => {
      const r = await api(dd, "POST", `/images/create?fromImage=${R}/test/app&tag=v1`, {
        headers: {
          "X-Registry-Auth": encodeRegistryAuth({ username: "alice", password: "s3cret" }),
        },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.type, "application/json");
      const msgs = jsonLines(r.text);
      assert.deepEqual(msgs[0], { status: "Pulling from test/app", id: "v1" });
      const shared = app.manifest.layers[0].digest.slice(7, 19);
      assert.ok(msgs.some((m) => m.id === shared && m.status === "Already exists"));
      assert.deepEqual(msgs.at(-1), {
        status: `Status: Downloaded newer image for ${R}/test/app:v1`,
      });
      assert.ok(!msgs.some((m) => m.error));

      const list = (await api(dd, "GET", "/images/json?shared-size=1")).json();
      const sizes = list.map((i: { SharedSize: number }) => i.SharedSize);
      assert.ok(sizes.every((n: number) => n > 0), "the busybox layer is shared");
      const plain = (await api(dd, "GET", "/images/json")).json();
      assert.deepEqual(plain.map((i: { Containers: number }) => i.Containers), [-1, -1]);
      assert.deepEqual(plain.map((i: { SharedSize: number }) => i.SharedSize), [-1, -1]);
    });

    await t.step("images, filters, digests, inspect, history", async () => {
      const rows = (await ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).trim();
      assert.equal(
        rows,
        [
          `${R}/test/app:v1 ${app.configDigest.slice(7, 19)}`,
          `${R}/test/busybox:1 ${base.configDigest.slice(7, 19)}`,
        ].join("\n"),
        "newest first",
      );
      const f = async (filter: string) =>
        (await ok(["images", "--filter", filter, "--format", "{{.Repository}}"])).trim();
      assert.equal(await f("label=tier=web"), `${R}/test/app`);
      assert.equal(await f("label=org.berth.test"), `${R}/test/app\n${R}/test/busybox`);
      assert.equal(await f(`reference=${R}/test/bus*`), `${R}/test/busybox`);
      assert.equal(await f(`before=${R}/test/app:v1`), `${R}/test/busybox`);
      assert.equal(await f(`since=${R}/test/busybox:1`), `${R}/test/app`);
      assert.equal(await f("dangling=true"), "");
      const bad = await docker(["images", "--filter", "foo=bar"]);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.trim(), "Error response from daemon: invalid filter 'foo'");

      const digests = await ok(["images", "--digests", "--format", "{{.Repository}} {{.Digest}}"]);
      assert.match(digests, new RegExp(`^${R}/test/busybox ${base.manifestDigest}$`, "m"));

      const [inspect] = JSON.parse(await ok(["inspect", `${R}/test/busybox:1`]));
      assert.equal(inspect.Id, base.configDigest);
      assert.deepEqual(inspect.RepoTags, [`${R}/test/busybox:1`]);
      assert.deepEqual(inspect.RepoDigests, [`${R}/test/busybox@${base.manifestDigest}`]);
      assert.deepEqual(inspect.Config.Labels, { "org.berth.test": "base" });
      assert.deepEqual(inspect.RootFS, { Type: "layers", Layers: base.diffIds });
      assert.equal(inspect.Created, "2024-01-02T03:04:05Z");
      assert.equal(inspect.Descriptor, undefined, "API 1.47 has no Descriptor");
      // By id prefix and through a versioned path with the slashes of the name.
      assert.equal(
        (await ok(["image", "inspect", "-f", "{{.Id}}", base.configDigest.slice(7, 19)])).trim(),
        base.configDigest,
      );
      const old = await api(dd, "GET", `/v1.43/images/${R}/test/busybox:1/json`);
      assert.equal(old.status, 200);
      assert.equal(old.json().VirtualSize, old.json().Size, "VirtualSize below API 1.44");

      const history = await ok([
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}",
        `${R}/test/app:v1`,
      ]);
      assert.deepEqual(history.trim().split("\n"), [
        `${app.configDigest}|/bin/sh -c #(nop)  CMD ["sh"]`,
        "<missing>|/bin/sh -c #(nop) layer 1",
        "<missing>|/bin/sh -c #(nop) layer 0",
      ]);
    });

    await t.step("tag and rmi: untag, then delete with the last tag", async () => {
      assert.equal(await ok(["tag", `${R}/test/busybox:1`, "mine/bb:x"]), "");
      const tags = JSON.parse(
        await ok(["image", "inspect", "-f", "{{json .RepoTags}}", "mine/bb:x"]),
      );
      assert.deepEqual(tags.sort(), [`${R}/test/busybox:1`, "mine/bb:x"].sort());
      const conflict = await docker(["rmi", base.configDigest.slice(7, 19)]);
      assert.equal(conflict.code, 1);
      assert.equal(
        conflict.stderr.trim(),
        `Error response from daemon: conflict: unable to delete ${
          base.configDigest.slice(7, 19)
        } (must be forced) - image is referenced in multiple repositories`,
      );
      assert.equal(await ok(["rmi", "mine/bb:x"]), "Untagged: mine/bb:x\n");
      const missing = await docker(["rmi", "nosuch"]);
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr.trim(),
        "Error response from daemon: No such image: nosuch:latest",
      );

      // The app image shares busybox's layer: deleting it keeps that layer.
      const rmi = await ok(["rmi", `${R}/test/app:v1`]);
      const lines = rmi.trim().split("\n");
      assert.deepEqual(lines.slice(0, 3), [
        `Untagged: ${R}/test/app:v1`,
        `Untagged: ${R}/test/app@${app.manifestDigest}`,
        `Deleted: ${app.configDigest}`,
      ]);
      assert.equal(lines.length, 4, "one layer deleted, the shared one kept");
      assert.equal((await ok(["images", "-q"])).trim(), base.configDigest.slice(7, 19));
    });

    await t.step("save and load round trip; prune of the dangling image", async () => {
      const tar = `${dd.dir}/bb.tar`;
      assert.equal(await ok(["save", "-o", tar, `${R}/test/busybox:1`]), "");
      assert.ok(Deno.statSync(tar).size > Deno.statSync(BUSYBOX).size / 2);
      await ok(["rmi", `${R}/test/busybox:1`]);
      assert.equal(await ok(["images", "-q"]), "");
      assert.equal(await ok(["load", "-i", tar]), `Loaded image: ${R}/test/busybox:1\n`);
      assert.equal(
        (await ok(["image", "inspect", "-f", "{{.Id}}", `${R}/test/busybox:1`])).trim(),
        base.configDigest,
      );

      // The app image pulled again, then its tag taken by a loaded image: it dangles.
      await ok(["pull", `${R}/test/app:v1`]);
      const other = await buildImage({
        layers: [{ entries: [{ name: "other", content: "other\n" }] }],
        created: "2024-05-06T07:08:09Z",
      });
      Deno.writeFileSync(tar, await ociArchive([{ img: other, name: `${R}/test/app:v1` }]));
      const load = await ok(["load", "-i", tar]);
      assert.match(load, new RegExp(`Loaded image: ${R}/test/app:v1`));
      const dangling = (await ok(["images", "-q", "--no-trunc", "--filter", "dangling=true"]))
        .trim();
      assert.equal(dangling, app.configDigest);
      const prune = await ok(["image", "prune", "-f"]);
      assert.match(prune, /^Deleted Images:$/m);
      assert.match(prune, new RegExp(`^untagged: ${R}/test/app@${app.manifestDigest}$`, "m"));
      assert.match(prune, new RegExp(`^deleted: ${app.configDigest}$`, "m"));
      assert.match(prune, /^Total reclaimed space: \d/m);
      assert.equal(await ok(["images", "-q", "--filter", "dangling=true"]), "");
      const info = JSON.parse(await ok(["info", "--format", "{{json .}}"]));
      assert.equal(info.Images, 2);
    });

    await t.step("logout", async () => {
      const out = await ok(["logout", R]);
      assert.equal(out.trim(), `Removing login credentials for ${R}`);
      assert.equal(JSON.parse(Deno.readTextFileSync(configPath)).auths[R], undefined);
    });

    await t.step("raw API: bad input answers as dockerd", async () => {
      const err = async (method: string, path: string, status: number, message: string) => {
        const r = await api(dd, method, path);
        assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
        assert.equal(r.type, "application/json");
        assert.deepEqual(r.json(), { message }, `${method} ${path}`);
      };
      await err(
        "POST",
        "/images/create?fromImage=UPPER&tag=latest",
        400,
        "invalid reference format: repository name (library/UPPER) must be lowercase",
      );
      await err("POST", "/images/create?fromImage=busybox&tag=bad:tag!", 400, "invalid tag format");
      await err(
        "POST",
        "/images/create?fromImage=busybox&tag=bad%2Ftag",
        400,
        "invalid tag format",
      );
      await err(
        "POST",
        "/images/create?fromImage=busybox&tag=latest&platform=bogus",
        400,
        '"bogus": unknown operating system or architecture: invalid argument',
      );
      const imp = await api(dd, "POST", "/images/create?fromSrc=-&repo=x");
      assert.equal(imp.status, 501);
      await err("GET", "/images/x/json", 404, "No such image: x:latest");
      await err("GET", "/images/x/history", 404, "No such image: x:latest");
      await err("DELETE", "/images/x", 404, "No such image: x:latest");
      await err("POST", "/images/x/tag?repo=y", 404, "No such image: x:latest");
      await err("GET", "/images/get?names=x", 404, "No such image: x:latest");
      await err("GET", "/images/json?filters=garbage", 400, "invalid filter");
      await err("GET", "/images/json?filters=%5B1%5D", 400, "invalid filter");
      await err(
        "POST",
        "/images/prune?filters=%7B%22foo%22%3A%5B%22x%22%5D%7D",
        400,
        "invalid filter 'foo'",
      );
      await err(
        "GET",
        '/images/json?filters={"dangling":["maybe"]}',
        400,
        "invalid filter 'dangling=maybe'",
      );
      await err(
        "POST",
        `/images/${R}/test/busybox:1/tag?repo=UPPER`,
        400,
        "invalid reference format: repository name (library/UPPER) must be lowercase",
      );
      const tagged = await api(dd, "POST", `/images/${R}/test/busybox:1/tag?repo=a/b&tag=c`);
      assert.equal(tagged.status, 201);
      assert.equal(tagged.text, "");
      const del = await api(dd, "DELETE", "/images/a/b:c");
      assert.deepEqual(del.json(), [{ Untagged: "a/b:c" }]);
      const auth = await api(dd, "POST", "/auth", { body: "{nope" });
      assert.equal(auth.status, 400);
      // A load that is not an archive: dockerd reports it in the stream.
      const load = await api(dd, "POST", "/images/load", { body: "garbage" });
      assert.equal(load.status, 200);
      const last = jsonLines(load.text).at(-1)!;
      assert.ok(last.error && last.errorDetail?.message === last.error, load.text);
    });
  } finally {
    await d?.close();
    await reg?.stop();
    await Deno.remove(layout, { recursive: true });
  }
});

Deno.test("dockerd images: registries that answer garbage or corrupt blobs", T, async () => {
  const { base } = await testImages();
  const fake = startFakeRegistry({ corrupt: new Set([base.manifest.layers[0].digest]) });
  fake.add("test/bad", "1", base);
  const garbage = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("<html>not a registry</html>", { headers: { "content-type": "text/html" } }),
  );
  const d = await startDockerd();
  try {
    const g = `127.0.0.1:${garbage.addr.port}`;
    const r = await api(d, "POST", `/images/create?fromImage=${g}/x&tag=1`);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().message, /^manifest sha256:[a-f0-9]{64}: not JSON/);

    // The layer's bytes do not match its digest: the stream has begun, so it ends in an error line.
    const c = await api(d, "POST", `/images/create?fromImage=${fake.host}/test/bad&tag=1`);
    assert.equal(c.status, 200);
    const msgs = jsonLines(c.text);
    assert.deepEqual(msgs[0], { status: "Pulling from test/bad", id: "1" });
    const last = msgs.at(-1)!;
    assert.match(last.error ?? "", /verification failed/);
    assert.deepEqual(last.errorDetail, { message: last.error });

    // The stream flows as the pull goes: its first lines come before the slow blobs.
    const slow = startFakeRegistry({ blobDelayMs: 600 });
    slow.add("test/slow", "1", base);
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
    try {
      const t0 = performance.now();
      const res = await fetch(`http://d/images/create?fromImage=${slow.host}/test/slow&tag=1`, {
        method: "POST",
        client,
      });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const tFirst = performance.now() - t0;
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        rest += new TextDecoder().decode(r.value);
      }
      const tEnd = performance.now() - t0;
      assert.match(first, /Pulling from test\/slow/);
      assert.match(rest, /Status: Downloaded newer image/);
      assert.ok(tEnd - tFirst > 400, `first line at ${tFirst} ms, end at ${tEnd} ms`);
      await api(d, "DELETE", `/images/${slow.host}/test/slow:1`);

      // A client that goes away mid-pull: the pull stops, nothing is stored, the daemon lives on.
      const gone = await fetch(`http://d/images/create?fromImage=${slow.host}/test/slow&tag=1`, {
        method: "POST",
        client,
      });
      const r = gone.body!.getReader();
      await r.read();
      await r.cancel();
      await new Promise((res) => setTimeout(res, 1000));
      assert.deepEqual((await api(d, "GET", "/images/json")).json(), []);
      assert.equal((await api(d, "GET", "/_ping")).status, 200);
    } finally {
      client.close();
      await slow.stop();
    }

    const cli = await d.docker(["pull", `${fake.host}/test/bad:1`]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /verification failed for digest/);
    const none = await api(d, "GET", "/images/json");
    assert.deepEqual(none.json(), [], "nothing stored");
    const missing = await d.docker(["pull", `${fake.host}/test/nothere:1`]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr.trim(),
      `Error response from daemon: manifest for ${fake.host}/test/nothere:1 not found: manifest unknown: manifest unknown`,
    );
  } finally {
    await d.close();
    await fake.stop();
    await garbage.shutdown();
  }
});

Deno.test("dockerd images: events and bearer login, routes in process", T, async () => {
  const { base, app } = await testImages();
  const fake = startFakeRegistry({ bearer: { user: "bob", password: "pw" } });
  fake.add("test/base", "1", base);
  fake.add("test/app", "1", app);
  const root = await Deno.makeTempDir({ prefix: "berth-images-events-" });
  try {
    const images = new ImageService({ root, dockerConfigPath: null });
    await images.init();
    const events = new EventBus();
    const seen: EngineEvent[] = [];
    events.subscribe((e) => seen.push(e));
    const engine = {
      images,
      events,
      config: { registryMirrors: [], insecureRegistries: [] },
    } as unknown as Engine;
    const hono = new Hono<Env>();
    hono.onError((e) =>
      e instanceof ApiError ? errorResponse(e.status, e.message) : errorResponse(500, e.message)
    );
    hono.use(async (c, next) => {
      c.set("engine", engine);
      c.set("apiVersion", "1.47");
      await next();
    });
    imageRoutes(hono);
    authRoutes(hono);
    const call = async (method: string, path: string, init: RequestInit = {}) => {
      const res = await hono.fetch(new Request(`http://d${path}`, { method, ...init }));
      return { status: res.status, text: await res.text() };
    };
    const auth = (password: string) => ({
      "X-Registry-Auth": encodeRegistryAuth({ username: "bob", password }),
    });
    const H = fake.host;

    // Bearer login: the token service refuses, then accepts.
    const bad = await call("POST", "/auth", {
      body: JSON.stringify({ username: "bob", password: "x", serveraddress: `http://${H}` }),
    });
    assert.equal(bad.status, 401);
    assert.equal(
      JSON.parse(bad.text).message,
      `Get "http://${H}/v2/": unauthorized: incorrect username or password`,
    );
    const good = await call("POST", "/auth", {
      body: JSON.stringify({ username: "bob", password: "pw", serveraddress: H }),
    });
    assert.equal(good.status, 200);
    assert.deepEqual(JSON.parse(good.text), { Status: "Login Succeeded", IdentityToken: "" });

    const refused = await call("POST", `/images/create?fromImage=${H}/test/base&tag=1`, {
      headers: auth("x"),
    });
    assert.equal(refused.status, 500, "a 401 would make the CLI prompt for a login");
    assert.equal(seen.length, 0);

    for (const repo of ["base", "app"]) {
      const r = await call("POST", `/images/create?fromImage=${H}/test/${repo}&tag=1`, {
        headers: auth("pw"),
      });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal((await call("POST", `/images/${H}/test/base:1/tag?repo=mine&tag=2`)).status, 201);
    assert.equal((await call("DELETE", "/images/mine:2")).status, 200);
    const saved = await call("GET", `/images/${H}/test/base:1/get`);
    assert.equal(saved.status, 200);
    const archive = await ociArchive([{ img: base, name: "loaded:1" }]);
    const loaded = await call("POST", "/images/load?quiet=0", { body: archive.slice() });
    const lines = jsonLines(loaded.text);
    assert.ok(lines.some((m) => m.status === "Loading layer"), "not quiet: layer progress");
    assert.deepEqual(lines.at(-1), { stream: "Loaded image: loaded:1\n" });
    assert.equal((await call("DELETE", `/images/${H}/test/app:1`)).status, 200);
    const pruned = await call("POST", '/images/prune?filters={"dangling":["false"]}');
    assert.equal(pruned.status, 200);

    const b = base.configDigest, a = app.configDigest;
    const baseLabels = { "org.berth.test": "base" };
    const appLabels = { "org.berth.test": "app", tier: "web" };
    assert.deepEqual(seen.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes]), [
      ["pull", `${H}/test/base:1`, { ...baseLabels, name: `${H}/test/base` }],
      ["pull", `${H}/test/app:1`, { ...appLabels, name: `${H}/test/app` }],
      ["tag", b, { ...baseLabels, name: "mine:2" }],
      ["untag", b, { ...baseLabels, name: b }],
      ["save", b, { ...baseLabels, name: b }],
      ["load", b, { ...baseLabels, name: b }],
      ["untag", a, { ...appLabels, name: a }],
      ["untag", a, { ...appLabels, name: a }],
      ["delete", a, { name: a }],
      ["untag", b, { ...baseLabels, name: b }],
      ["untag", b, { ...baseLabels, name: b }],
      ["untag", b, { ...baseLabels, name: b }],
      ["delete", b, { name: b }],
      ["prune", "", { reclaimed: JSON.parse(pruned.text).SpaceReclaimed.toString() }],
    ]);
    assert.ok(seen.every((e) => e.Type === "image" && e.scope === "local"));
  } finally {
    await fake.stop();
    await Deno.remove(root, { recursive: true });
  }
});

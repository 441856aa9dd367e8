/**
 * `docker logs`, `docker cp` (both ways) and `docker export` with the real
 * Docker CLI against berth's dockerd. Containers are records seeded in the
 * data root before the daemon starts (container start is not wired yet):
 * json-file logs written by hand (rotated file included), a busybox image
 * loaded into the daemon's image store and a real overlay snapshot for the
 * archive routes, mounted by the daemon for each request and unmounted after.
 * The image carries symlinks that point outside the container (absolute,
 * relative, `..`) next to a host-like /etc/shadow: what is read and written
 * through them must stay inside the container.
 */
import assert from "node:assert/strict";
import { type Dockerd, runDocker, startDockerd } from "./helpers/dockerd.ts";
import { createApi } from "../daemon/api/app.ts";
import { listen } from "../daemon/server/listen.ts";
import { EventBus } from "../daemon/events.ts";
import type { Engine } from "../daemon/engine.ts";
import { T } from "./helpers/fixture.ts";
import { buildImage, makeTar, ociArchive, streamOf } from "./helpers/image_layers.ts";
import { ImageService } from "../daemon/images/service.ts";
import { loadImages } from "../daemon/images/load.ts";
import { type ContainerRecord, ContainerStore } from "../daemon/containers/store.ts";
import { frame, logStream, parseLogTime, parseUnixTimestamp } from "../daemon/containers/logs.ts";
import { followSymlinkInScope } from "../daemon/containers/scope.ts";
import { exitedRecord } from "./helpers/records.ts";

const td = new TextDecoder();
const te = new TextEncoder();

function record(id: string, name: string, opts: Partial<ContainerRecord> = {}): ContainerRecord {
  return exitedRecord(id, name, {
    Config: { Image: "bbx:1", Cmd: ["sh"] },
    HostConfig: { NetworkMode: "none", LogConfig: { Type: "json-file", Config: {} } },
    ...opts,
  });
}

const running = (r: ContainerRecord): ContainerRecord => ({
  ...r,
  State: { ...r.State, Status: "running", Running: true, Pid: 1 },
});

const line = (log: string, stream: string, time: string, attrs?: Record<string, string>) =>
  JSON.stringify({ log, stream, time, ...(attrs ? { attrs } : {}) }) + "\n";

/** Seconds since the epoch of a UTC wall time, as `docker logs --since` sends it. */
const unix = (iso: string) => String(Date.parse(iso) / 1000);

/** Names a test's writes would take on the host if a symlink led them out of a container. */
const marker = `berth-escape-${crypto.randomUUID()}`;

const ID = {
  logs: "10".repeat(32),
  tty: "20".repeat(32),
  fresh: "30".repeat(32),
  follow: "40".repeat(32),
  files: "50".repeat(32),
  live: "60".repeat(32),
  ro: "70".repeat(32),
};

function seed(dir: string, rec: ContainerRecord): void {
  Deno.mkdirSync(`${dir}/data/containers/${rec.Id}`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/data/containers/${rec.Id}/config.v2.json`, JSON.stringify(rec));
}

const logPath = (dir: string, id: string) => `${dir}/data/containers/${id}/${id}-json.log`;

/** The image of the archive tests: busybox, a shadow file, and links that aim outside. */
async function seedImage(dir: string): Promise<string> {
  const busybox = Deno.readFileSync("/bin/busybox");
  const img = await buildImage({
    layers: [{
      entries: [
        { name: "bin/", type: "directory" },
        { name: "bin/busybox", content: busybox, mode: 0o755 },
        { name: "bin/sh", type: "symlink", linkname: "busybox" },
        { name: "etc/", type: "directory" },
        {
          name: "etc/passwd",
          content: "root:x:0:0:root:/root:/bin/sh\napp:x:1234:4321::/:/bin/sh\n",
        },
        { name: "etc/shadow", content: "container shadow\n", mode: 0o640 },
        { name: "data/", type: "directory" },
        { name: "data/a", content: "a\n", uid: 1000, gid: 1000 },
        { name: "data/hard", type: "link", linkname: "data/a" },
        { name: "data/sub/", type: "directory", mode: 0o750 },
        { name: "data/sub/b", content: "b\n", mode: 0o600 },
        { name: "file", content: "just a file\n" },
        { name: "sneaky", type: "symlink", linkname: "/etc/shadow" },
        { name: "up", type: "symlink", linkname: "../../../../.." },
        { name: "etclink", type: "symlink", linkname: "/etc" },
        { name: "deep/", type: "directory" },
        { name: "deep/rel", type: "symlink", linkname: "../../../../../etc/shadow" },
        { name: "tmp/", type: "directory", mode: 0o1777 },
      ],
    }],
  });
  const svc = new ImageService({ root: `${dir}/data/image`, dockerConfigPath: null });
  await svc.init();
  await loadImages(svc, streamOf(await ociArchive([{ img, name: "docker.io/library/bbx:1" }])));
  for (const id of [ID.files, ID.ro]) await svc.prepareRootfs(id, "bbx:1");
  return svc.rootfsMounts(ID.files)[0].options.find((o) => o.startsWith("upperdir="))!.slice(9);
}

/** A raw request over the daemon's socket (a tar body, headers kept). */
async function raw(
  d: Dockerd,
  method: string,
  path: string,
  body?: Uint8Array,
): Promise<{ status: number; headers: Headers; bytes: Uint8Array; text: string }> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
  try {
    const res = await fetch(`http://docker${path}`, {
      method,
      client,
      body: body ? new Uint8Array(body) : undefined,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, bytes, text: td.decode(bytes) };
  } finally {
    client.close();
  }
}

function pathStat(h: Headers): Record<string, unknown> {
  const v = h.get("x-docker-container-path-stat");
  assert.ok(v, "path stat header");
  return JSON.parse(td.decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0))));
}

/** `tar -tv`-like listing through GNU tar: "type name[ -> link]" per entry. */
async function listTar(bytes: Uint8Array): Promise<string[]> {
  const p = new Deno.Command("tar", { args: ["-tvf", "-"], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(bytes);
  await w.close();
  const out = td.decode((await p.output()).stdout);
  return out.trim().split("\n").filter(Boolean).map((l) => {
    const f = l.split(/\s+/);
    return `${f[0][0]} ${f.slice(5).join(" ")}`;
  });
}

function mountsUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(dir));
}

/** Open descriptors of process `pid` that point at files whose path starts with `prefix`. */
function openFiles(pid: number, prefix: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
      if (target.startsWith(prefix)) out.push(target);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("docker logs, cp and export against berth's dockerd", T, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-logs-archive-" });
  let d: Dockerd | undefined;
  try {
    // Logs: a rotated pair of files (oldest in .1), a TTY container, one never started.
    const lp = logPath(dir, ID.logs);
    seed(dir, record(ID.logs, "logs", { LogPath: lp }));
    Deno.writeTextFileSync(
      `${lp}.1`,
      line("one\n", "stdout", "2026-01-01T00:00:01.000000001Z") +
        line("two\n", "stderr", "2026-01-01T00:00:02.5Z"),
    );
    Deno.writeTextFileSync(
      lp,
      line("three\n", "stdout", "2026-01-01T00:00:03.123456789Z") +
        line("four\n", "stdout", "2026-01-01T00:00:04Z", { tag: "a b" }),
    );
    const ttyLog = logPath(dir, ID.tty);
    seed(
      dir,
      record(ID.tty, "tty", { LogPath: ttyLog, Config: { Image: "bbx:1", Tty: true } }),
    );
    Deno.writeTextFileSync(ttyLog, line("hello\r\n", "stdout", "2026-01-01T00:00:01Z"));
    seed(dir, record(ID.fresh, "fresh", { LogPath: logPath(dir, ID.fresh) }));

    // Archive: a stopped container on a real overlay snapshot, and a read-only one.
    const upper = await seedImage(dir);
    seed(dir, record(ID.files, "files", { Config: { Image: "bbx:1", User: "app" } }));
    seed(
      dir,
      record(ID.ro, "ro", { HostConfig: { NetworkMode: "none", ReadonlyRootfs: true } }),
    );

    d = await startDockerd({ dir });
    const docker = d.docker;

    await t.step("logs: streams, rotation, timestamps, tail, since/until, details", async () => {
      let r = await docker(["logs", "logs"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "one\nthree\nfour\n");
      assert.equal(r.stderr, "two\n");
      r = await docker(["logs", "-t", "logs"]);
      assert.equal(
        r.stdout,
        "2026-01-01T00:00:01.000000001Z one\n2026-01-01T00:00:03.123456789Z three\n" +
          "2026-01-01T00:00:04.000000000Z four\n",
      );
      assert.equal(r.stderr, "2026-01-01T00:00:02.500000000Z two\n");
      r = await docker(["logs", "--tail", "2", "logs"]);
      assert.deepEqual([r.stdout, r.stderr], ["three\nfour\n", ""]);
      r = await docker(["logs", "--tail", "3", "logs"]);
      assert.deepEqual([r.stdout, r.stderr], ["three\nfour\n", "two\n"], "tail reaches into .1");
      r = await docker(["logs", "--tail", "0", "logs"]);
      assert.deepEqual([r.stdout, r.stderr], ["", ""]);
      r = await docker(["logs", "--since", unix("2026-01-01T00:00:02.500Z"), "logs"]);
      assert.deepEqual([r.stdout, r.stderr], ["three\nfour\n", "two\n"], "since is inclusive");
      r = await docker(["logs", "--until", "1767225603.123456789", "logs"]);
      assert.deepEqual([r.stdout, r.stderr], ["one\nthree\n", "two\n"], "until is inclusive");
      r = await docker(["logs", "--details", "logs"]);
      assert.equal(r.stdout, " one\n three\ntag=a+b four\n");

      r = await docker(["logs", "tty"]);
      assert.deepEqual([r.stdout, r.stderr], ["hello\r\n", ""], "a TTY's log is raw");
      r = await docker(["logs", "-f", "fresh"]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""], "never started: no output");
      r = await docker(["logs", "nope"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No such container: nope/);
    });

    await t.step("logs: the raw API (frames, content types, errors)", async () => {
      let r = await raw(d!, "GET", "/v1.47/containers/logs/logs?stdout=1&stderr=1&tail=2");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "application/vnd.docker.multiplexed-stream");
      assert.deepEqual(
        r.bytes,
        new Uint8Array([...frame(1, te.encode("three\n")), ...frame(1, te.encode("four\n"))]),
      );
      r = await raw(d!, "GET", "/v1.41/containers/logs/logs?stderr=1");
      assert.equal(r.headers.get("content-type"), "application/vnd.docker.raw-stream");
      assert.deepEqual(r.bytes, frame(2, te.encode("two\n")), "still multiplexed before 1.42");
      r = await raw(d!, "GET", "/containers/tty/logs?stdout=1");
      assert.equal(r.headers.get("content-type"), "application/vnd.docker.raw-stream");
      r = await raw(d!, "GET", "/containers/nope/logs");
      assert.deepEqual([r.status, JSON.parse(r.text).message], [
        400,
        "Bad parameters: you must choose at least one stream",
      ]);
      r = await raw(d!, "GET", "/containers/logs/logs?stdout=1&since=abc");
      assert.deepEqual([r.status, JSON.parse(r.text).message], [
        500,
        'strconv.ParseInt: parsing "abc": invalid syntax',
      ]);
    });

    await t.step("cp from a stopped container: files, trees, links stay inside", async () => {
      const out = `${dir}/out`;
      Deno.mkdirSync(out);
      let r = await docker(["cp", "files:/data/a", `${out}/a`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${out}/a`), "a\n");
      r = await docker(["cp", "files:/data", `${out}/data`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${out}/data/sub/b`), "b\n");
      assert.equal(Deno.statSync(`${out}/data/sub`).mode! & 0o7777, 0o750);
      assert.equal(Deno.statSync(`${out}/data/hard`).ino, Deno.statSync(`${out}/data/a`).ino);

      // Through links that aim at the host's /etc: the container's file every time.
      for (
        const p of [
          "/sneaky",
          "/up/etc/shadow",
          "/deep/rel",
          "/etclink/shadow",
          "/../../etc/shadow",
        ]
      ) {
        r = await docker(["cp", "-L", `files:${p}`, "-"]);
        assert.equal(r.code, 0, `${p}: ${r.stderr}`);
        assert.match(r.stdout, /container shadow\n/, p);
      }
      let res = await raw(
        d!,
        "HEAD",
        `/containers/files/archive?path=${encodeURIComponent("/up")}`,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(
        { ...pathStat(res.headers), mtime: "" },
        { name: "up", size: 14, mode: 2 ** 27 + 0o777, mtime: "", linkTarget: "/" },
      );
      res = await raw(d!, "HEAD", "/containers/files/archive?path=/deep/rel");
      assert.equal(pathStat(res.headers).linkTarget, "/etc/shadow");
      res = await raw(d!, "HEAD", "/containers/files/archive?path=/tmp/");
      assert.deepEqual(pathStat(res.headers).mode, 2 ** 31 + 2 ** 20 + 0o777, "dir + sticky");

      // GET of a symlink is the link; with a trailing slash its target, named as asked.
      res = await raw(d!, "GET", "/containers/files/archive?path=/etclink");
      assert.deepEqual(await listTar(res.bytes), ["l etclink -> /etc"]);
      res = await raw(d!, "GET", "/containers/files/archive?path=/etclink/");
      assert.deepEqual((await listTar(res.bytes)).slice(0, 2), ["d etclink/", "- etclink/passwd"]);
      res = await raw(d!, "GET", "/containers/files/archive?path=/data/.");
      assert.deepEqual(await listTar(res.bytes), [
        "d ./",
        "- ./a",
        "h ./hard link to ./a",
        "d ./sub/",
        "- ./sub/b",
      ]);

      r = await docker(["cp", "files:/nope", out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Could not find the file \/nope in container files/);
      res = await raw(d!, "GET", "/containers/files/archive");
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        400,
        "bad parameter: pathcannot be empty",
      ]);
      res = await raw(d!, "GET", "/containers/files/archive?path=/file/x");
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        500,
        "lstat /file/x: not a directory",
      ]);
      assert.deepEqual(mountsUnder(dir), [], "the rootfs is unmounted after each request");
    });

    await t.step("cp into a stopped container: lands in its layer, never on the host", async () => {
      const src = `${dir}/src`;
      Deno.mkdirSync(`${src}/tree/inner`, { recursive: true });
      Deno.writeTextFileSync(`${src}/hello`, "from the host\n");
      Deno.writeTextFileSync(`${src}/tree/inner/x`, "x\n");
      let r = await docker(["cp", `${src}/hello`, "files:/data/"]);
      assert.equal(r.code, 0, r.stderr);
      r = await docker(["cp", `${src}/tree`, "files:/data/copied"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${upper}/data/hello`), "from the host\n");
      assert.equal(Deno.readTextFileSync(`${upper}/data/copied/inner/x`), "x\n");
      r = await docker(["cp", "files:/data/copied/inner/x", `${dir}/x-back`]);
      assert.equal(Deno.readTextFileSync(`${dir}/x-back`), "x\n");

      // A destination reached through an absolute link: the container's /etc.
      r = await docker(["cp", `${src}/hello`, "files:/etclink/"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${upper}/etc/hello`), "from the host\n");

      // A tar whose own symlink points at the host's /tmp, then an entry through it.
      const evil = await makeTar([
        { name: "evil", type: "symlink", linkname: "/tmp" },
        { name: `evil/${marker}`, content: "gotcha\n" },
        { name: `up/tmp/${marker}-2`, content: "gotcha\n" },
      ]);
      let res = await raw(d!, "PUT", "/containers/files/archive?path=/", evil);
      assert.equal(res.status, 200, res.text);
      assert.throws(() => Deno.lstatSync(`/tmp/${marker}`), Deno.errors.NotFound);
      assert.throws(() => Deno.lstatSync(`/tmp/${marker}-2`), Deno.errors.NotFound);
      assert.equal(Deno.readTextFileSync(`${upper}/tmp/${marker}`), "gotcha\n");
      assert.equal(Deno.readTextFileSync(`${upper}/tmp/${marker}-2`), "gotcha\n");

      res = await raw(
        d!,
        "PUT",
        "/containers/files/archive?path=/data",
        await makeTar([
          { name: "../../escape", content: "x" },
        ]),
      );
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        500,
        '"../../escape" is outside of "/data"',
      ]);
      res = await raw(
        d!,
        "PUT",
        "/containers/files/archive?path=/data",
        await makeTar([
          { name: "bad", type: "symlink", linkname: "../../x" },
        ]),
      );
      assert.equal(JSON.parse(res.text).message, 'invalid symlink "/data/bad" -> "../../x"');
      res = await raw(
        d!,
        "PUT",
        "/containers/files/archive?path=/data",
        await makeTar([
          { name: "hl", type: "link", linkname: "../etc/shadow" },
        ]),
      );
      assert.equal(
        JSON.parse(res.text).message,
        'invalid hardlink "/etc/shadow" -> "../etc/shadow"',
      );
      res = await raw(
        d!,
        "PUT",
        "/containers/files/archive?path=/data&noOverwriteDirNonDir=1",
        await makeTar([{ name: "sub", content: "x" }]),
      );
      assert.equal(
        JSON.parse(res.text).message,
        'cannot overwrite directory "/data/sub" with non-directory "/data"',
      );

      res = await raw(d!, "PUT", "/containers/files/archive?path=/data", te.encode("not a tar"));
      assert.equal(res.status, 500, res.text);
      res = await raw(d!, "PUT", "/containers/files/archive?path=/data", new Uint8Array());
      assert.equal(res.status, 200, "an empty body extracts nothing");

      // Ownership: the entries' own, or the container's user with copyUIDGID.
      const owned = await makeTar([{ name: "o1", content: "x", uid: 7, gid: 8 }]);
      res = await raw(d!, "PUT", "/containers/files/archive?path=/data", owned);
      assert.equal(res.status, 200);
      const st = Deno.statSync(`${upper}/data/o1`);
      assert.deepEqual([st.uid, st.gid], [7, 8]);
      const owned2 = await makeTar([{ name: "o2", content: "x", uid: 7, gid: 8 }]);
      res = await raw(d!, "PUT", "/containers/files/archive?path=/data&copyUIDGID=1", owned2);
      assert.equal(res.status, 200);
      const st2 = Deno.statSync(`${upper}/data/o2`);
      assert.deepEqual([st2.uid, st2.gid], [1234, 4321], "the container's user 'app'");

      r = await docker(["cp", `${src}/hello`, "files:/file/"]);
      assert.equal(r.code, 1);
      res = await raw(d!, "PUT", "/containers/files/archive?path=/file", owned);
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        400,
        "extraction point is not a directory",
      ]);
      res = await raw(d!, "PUT", "/containers/files/archive?path=/missing", owned);
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        404,
        "Could not find the file /missing in container files",
      ]);
      res = await raw(d!, "PUT", "/containers/ro/archive?path=/tmp", owned);
      assert.deepEqual([res.status, JSON.parse(res.text).message], [
        400,
        "container rootfs is marked read-only",
      ]);
      assert.deepEqual(mountsUnder(dir), []);
    });

    await t.step("export", async () => {
      const r = await docker(["export", "-o", `${dir}/export.tar`, "files"]);
      assert.equal(r.code, 0, r.stderr);
      const names = await listTar(Deno.readFileSync(`${dir}/export.tar`));
      for (const n of ["d bin/", "- bin/busybox", "l sneaky -> /etc/shadow", "- data/hello"]) {
        assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
      }
      assert.ok(!names.some((n) => n.startsWith("d ./")), "no entry for the root itself");
      assert.deepEqual(mountsUnder(dir), []);

      const none = await docker(["export", "-o", `${dir}/x.tar`, "nope"]);
      assert.match(none.stderr, /No such container: nope/);
    });
  } finally {
    await d?.close();
    for (const m of mountsUnder(dir).reverse()) {
      await new Deno.Command("umount", { args: ["-l", m] }).output();
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    // Only there if the escape checks failed.
    for (const p of [`/tmp/${marker}`, `/tmp/${marker}-2`]) await Deno.remove(p).catch(() => {});
  }
});

Deno.test(
  "running containers (API served in-process): logs -f to the stop or until the client leaves; cp and export use the task's rootfs",
  T,
  async () => {
    // Records of running containers cannot come from a daemon that checks them against
    // containerd at start: the API is served here, on a real store, so a test can stop them.
    const dir = await Deno.makeTempDir({ prefix: "berth-test-logs-running-" });
    const store = new ContainerStore(`${dir}/data/containers`);
    const quiet = () => {};
    const engine = {
      version: "0.0.0-test",
      id: "test",
      config: { dataRoot: `${dir}/data`, execRoot: `${dir}/exec` },
      log: { debug: quiet, info: quiet, warn: quiet, error: console.error },
      containers: store,
      events: new EventBus(),
    } as unknown as Engine;
    const host = `unix://${dir}/api.sock`;
    const server = await listen(host, createApi(engine), (_req, socket) => socket.destroy(), {
      log: quiet,
    });
    const docker = (args: string[]) => runDocker(["-H", host, ...args], dir);
    try {
      const followLog = logPath(dir, ID.follow);
      Deno.mkdirSync(`${dir}/data/containers/${ID.follow}`, { recursive: true });
      Deno.writeTextFileSync(followLog, line("before\n", "stdout", "2026-01-01T00:00:01Z"));
      const rec = running(record(ID.follow, "follow", { LogPath: followLog }));
      store.save(rec);
      const append = (s: string, stream = "stdout") =>
        Deno.writeTextFileSync(followLog, line(s, stream, new Date().toISOString()), {
          append: true,
        });
      const follow = () => {
        const child = new Deno.Command("docker", {
          args: ["-H", host, "logs", "-f", "follow"],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { DOCKER_CONFIG: `${dir}/docker-config` },
        }).spawn();
        const got = { out: "", err: "" };
        const pumps = Promise.all([
          (async () => {
            for await (const c of child.stdout) got.out += td.decode(c);
          })(),
          (async () => {
            for await (const c of child.stderr) got.err += td.decode(c);
          })(),
        ]);
        return { child, got, pumps };
      };
      const held = () => openFiles(Deno.pid, followLog).length;

      // Growth and rotation are followed; the stop ends the stream once the log is drained.
      const f = follow();
      let exited = false;
      f.child.status.then(() => exited = true);
      try {
        await until("the old line", () => f.got.out === "before\n");
        append("after\n");
        await until("a new line", () => f.got.out.endsWith("after\n"));
        // Rotation as the shim does it: the full file becomes .1, a new one starts.
        append("last in old\n");
        Deno.renameSync(followLog, `${followLog}.1`);
        append("first in new\n");
        await until("lines across the rotation", () => f.got.out.endsWith("first in new\n"));
        assert.ok(held() > 0, "the follow holds the log open");
        append("last words\n", "stderr");
        store.save({ ...rec, State: { ...rec.State, Running: false, Status: "exited" } });
        await until("logs -f to end with the container", () => exited, 3000);
      } finally {
        if (!exited) f.child.kill("SIGKILL");
        await f.pumps.catch(() => {});
      }
      assert.equal((await f.child.status).code, 0);
      assert.equal(f.got.out, "before\nafter\nlast in old\nfirst in new\n");
      assert.equal(f.got.err, "last words\n");
      assert.equal(held(), 0);

      // A client that goes away is let go.
      store.save(rec);
      const g = follow();
      try {
        await until("the output so far", () => g.got.out.endsWith("first in new\n"));
        assert.ok(held() > 0);
      } finally {
        g.child.kill("SIGKILL");
        await g.child.status;
        await g.pumps.catch(() => {});
      }
      await until("the server to let go of the log", () => held() === 0);

      // A running container's files are its task's rootfs, as mounted for the task.
      store.save(running(record(ID.live, "live")));
      const taskRoot = `${dir}/exec/containerd/tasks/moby/${ID.live}/rootfs`;
      Deno.mkdirSync(`${taskRoot}/etc`, { recursive: true });
      Deno.writeTextFileSync(`${taskRoot}/etc/hostname`, "live\n");
      let r = await docker(["cp", "live:/etc/hostname", `${dir}/hostname`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${dir}/hostname`), "live\n");
      Deno.writeTextFileSync(`${dir}/motd`, "hi\n");
      r = await docker(["cp", `${dir}/motd`, "live:/etc/"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Deno.readTextFileSync(`${taskRoot}/etc/motd`), "hi\n");
      r = await docker(["export", "-o", `${dir}/live.tar`, "live"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await listTar(Deno.readFileSync(`${dir}/live.tar`)), [
        "d etc/",
        "- etc/hostname",
        "- etc/motd",
      ]);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("logs -f ends once the container stops and its log is drained", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-logs-follow-" });
  try {
    const store = new ContainerStore(`${dir}/containers`);
    const id = "ab".repeat(32);
    const path = `${dir}/log.json`;
    Deno.writeTextFileSync(path, line("one\n", "stdout", "2026-01-01T00:00:01Z"));
    store.save(running(record(id, "f", { LogPath: path })));
    const stream = logStream(
      { path, tty: false, running: () => store.find(id)?.State.Running === true },
      { stdout: true, stderr: true, follow: true, timestamps: false, details: false, tail: -1 },
    );
    const reader = stream.getReader();
    const got: number[] = [];
    let ended = false;
    const reading = (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        got.push(...r.value);
      }
      ended = true;
    })();
    await until("the first line", () => got.length === frame(1, te.encode("one\n")).length);
    // The last output and the stop come together: the output is still delivered.
    Deno.writeTextFileSync(path, line("bye\n", "stderr", "2026-01-01T00:00:02Z"), { append: true });
    const rec = store.get(id);
    store.save({ ...rec, State: { ...rec.State, Running: false, Status: "exited" } });
    await until("the stream to end", () => ended, 3000);
    await reading;
    assert.deepEqual(
      new Uint8Array(got),
      new Uint8Array([...frame(1, te.encode("one\n")), ...frame(2, te.encode("bye\n"))]),
    );
    // A stopped container is not followed at all.
    const again = logStream(
      { path, tty: true, running: () => false },
      { stdout: true, stderr: true, follow: true, timestamps: false, details: false, tail: 1 },
    );
    assert.equal(td.decode(new Uint8Array(await new Response(again).arrayBuffer())), "bye\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log times and API timestamps parse as Docker's", () => {
  assert.equal(parseUnixTimestamp("1.5"), 1_500_000_000n);
  assert.equal(parseUnixTimestamp("10"), 10_000_000_000n);
  assert.equal(parseUnixTimestamp("1.000000001"), 1_000_000_001n);
  assert.throws(() => parseUnixTimestamp("1h"), /parsing "1h": invalid syntax/);
  assert.deepEqual(parseLogTime("2026-01-01T00:00:04.5+02:00"), {
    ns: BigInt(Date.parse("2026-01-01T00:00:04+02:00") / 1000) * 1_000_000_000n + 500_000_000n,
    fixed: "2026-01-01T00:00:04.500000000+02:00",
  });
  assert.equal(parseLogTime("yesterday"), undefined);
});

Deno.test("symlinks resolve inside the scope", () => {
  const root = Deno.makeTempDirSync({ prefix: "berth-test-scope-" });
  try {
    Deno.mkdirSync(`${root}/a/b`, { recursive: true });
    Deno.symlinkSync("../../../../..", `${root}/a/up`);
    Deno.symlinkSync("/etc", `${root}/abs`);
    Deno.symlinkSync("loop2", `${root}/loop1`);
    Deno.symlinkSync("loop1", `${root}/loop2`);
    assert.equal(followSymlinkInScope(`${root}/a/up/etc/shadow`, root), `${root}/etc/shadow`);
    assert.equal(followSymlinkInScope(`${root}/abs/passwd`, root), `${root}/etc/passwd`);
    assert.throws(() => followSymlinkInScope(`${root}/loop1`, root), /too many links/);
    assert.throws(() => followSymlinkInScope("/etc/passwd", root), /is not in/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

/**
 * dockerd's system API and daemon behaviour, checked with the real Docker CLI
 * and raw HTTP: version negotiation, /_ping, /version, /info, errors, socket
 * permissions, flags and daemon.json, shutdown.
 */
import assert from "node:assert/strict";
import { dockerdArgv, killContainerd, startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";

const td = new TextDecoder();

async function runDockerd(args: string[]): Promise<{ code: number; stderr: string }> {
  const [cmd, ...rest] = dockerdArgv(args);
  const out = await new Deno.Command(cmd, { args: rest, stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, stderr: td.decode(out.stderr) };
}

Deno.test("the Docker CLI negotiates the API version and shows the server", T, async () => {
  const d = await startDockerd();
  try {
    const r = await d.docker(["version", "--format", "{{json .}}"]);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.Client.ApiVersion, "1.47", "the CLI downgraded to our API version");
    assert.equal(v.Server.ApiVersion, "1.47");
    assert.equal(v.Server.MinAPIVersion, "1.24");
    assert.equal(v.Server.Os, "linux");
    assert.ok(v.Server.Components.some((c: { Name: string }) => c.Name === "Engine"));
    // containerd's version comes from containerd itself, over its gRPC API.
    const ctd = v.Server.Components.find((c: { Name: string }) => c.Name === "containerd");
    assert.match(ctd.Version, /^1\.6\.\d+\+berth/);

    const info = await d.docker(["info", "--format", "{{json .}}"]);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout);
    assert.equal(i.OSType, "linux");
    assert.equal(i.LoggingDriver, "json-file");
    assert.equal(i.DockerRootDir, `${d.dir}/data`);
    assert.match(i.CgroupVersion, /^[12]$/);
    assert.ok(i.NCPU >= 1 && i.MemTotal > 0);
  } finally {
    await d.close();
  }
});

Deno.test("/_ping answers GET and HEAD with the version headers", T, async () => {
  const d = await startDockerd();
  try {
    const get = await d.request("GET", "/_ping");
    assert.equal(get.status, 200);
    assert.equal(await get.text(), "OK");
    assert.equal(get.headers.get("api-version"), "1.47");
    assert.equal(get.headers.get("ostype"), "linux");
    assert.equal(get.headers.get("cache-control"), "no-cache, no-store, must-revalidate");
    const head = await d.request("HEAD", "/_ping");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("api-version"), "1.47");
    // Versioned paths reach the same routes.
    assert.equal((await d.request("GET", "/v1.24/_ping")).status, 200);
    const v = await d.request("GET", "/v1.41/version");
    assert.equal(v.status, 200);
    assert.equal((await v.json()).ApiVersion, "1.47");
  } finally {
    await d.close();
  }
});

Deno.test("errors are Docker's JSON messages with the right status", T, async () => {
  const d = await startDockerd();
  try {
    const old = await d.request("GET", "/v1.12/version");
    assert.equal(old.status, 400);
    assert.match((await old.json()).message, /client version 1\.12 is too old/);
    const young = await d.request("GET", "/v1.99/version");
    assert.equal(young.status, 400);
    assert.match((await young.json()).message, /too new/);
    const missing = await d.request("GET", "/v1.47/no/such/route");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/json");
    assert.deepEqual(await missing.json(), { message: "page not found" });
  } finally {
    await d.close();
  }
});

Deno.test("the daemon id survives a restart", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
  try {
    const a = await startDockerd({ dir });
    const id1 = (await (await a.request("GET", "/info")).json()).ID;
    // SIGKILL: nothing is flushed at exit, the id was written when it was made.
    await a.stop("SIGKILL");
    await a.close();
    const b = await startDockerd({ dir });
    const id2 = (await (await b.request("GET", "/info")).json()).ID;
    await b.close();
    assert.ok(id1);
    assert.equal(id2, id1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("socket permissions: root-only, or 0660 for the configured group", T, async () => {
  const a = await startDockerd({ extraArgs: ["--group", "no-such-group-berth"] });
  try {
    const st = Deno.statSync(a.socket);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(st.uid, 0);
  } finally {
    await a.close();
  }
  const b = await startDockerd({ extraArgs: ["--group", "4321"] });
  try {
    const st = Deno.statSync(b.socket);
    assert.equal(st.mode! & 0o777, 0o660);
    assert.equal(st.gid, 4321);
  } finally {
    await b.close();
  }
});

Deno.test(
  "a second daemon on a live socket is refused; a stale socket is replaced",
  T,
  async () => {
    const a = await startDockerd();
    try {
      const r = await runDockerd([
        "-H",
        `unix://${a.socket}`,
        "--data-root",
        `${a.dir}/data2`,
        "--exec-root",
        `${a.dir}/exec2`,
        "--config-file",
        `${a.dir}/daemon.json`,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /already listening/);
      assert.equal(
        (await a.request("GET", "/_ping")).status,
        200,
        "the first daemon still answers",
      );
    } finally {
      await a.stop("SIGKILL");
    }
    // SIGKILL left the socket file behind: the next daemon replaces it.
    assert.ok(Deno.lstatSync(a.socket).isSocket);
    const b = await startDockerd({ dir: a.dir });
    try {
      assert.equal((await b.request("GET", "/_ping")).status, 200);
    } finally {
      await b.close();
      await a.close();
      await Deno.remove(a.dir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test("SIGTERM shuts down cleanly and removes the socket", T, async () => {
  const d = await startDockerd();
  try {
    const status = await d.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.throws(() => Deno.lstatSync(d.socket), Deno.errors.NotFound);
  } finally {
    await d.close();
  }
});

Deno.test("bad flags and configuration files are refused clearly", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
  try {
    const base = ["--data-root", `${dir}/data`, "--exec-root", `${dir}/exec`];
    let r = await runDockerd([...base, "--no-such-flag"]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /no-such-flag/);

    r = await runDockerd([...base, "-H", "udp://1.2.3.4:5"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid listen address/);

    Deno.writeTextFileSync(`${dir}/both.json`, JSON.stringify({ debug: true }));
    r = await runDockerd([...base, "--config-file", `${dir}/both.json`, "--debug"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /specified both as a flag and in the configuration file: debug/);

    r = await runDockerd([...base, "--cgroup-parent", "/berth/../../escape"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /invalid cgroup parent "\/berth\/\.\.\/\.\.\/escape": "\.\." is not allowed/,
    );

    Deno.writeTextFileSync(`${dir}/unknown.json`, JSON.stringify({ "no-such-key": 1 }));
    r = await runDockerd([...base, "--config-file", `${dir}/unknown.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /don't match any configuration option: no-such-key/);

    Deno.writeTextFileSync(`${dir}/broken.json`, "{ not json");
    r = await runDockerd([...base, "--config-file", `${dir}/broken.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid JSON/);

    r = await runDockerd([...base, "--config-file", `${dir}/missing.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unable to read the configuration file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerd runs its own containerd, which outlives a killed dockerd", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
  try {
    const a = await startDockerd({ dir });
    const sock = `${dir}/exec/containerd/containerd.sock`;
    const pid = Number(Deno.readTextFileSync(`${dir}/exec/containerd/containerd.pid`).trim());
    const ctr = async () =>
      await new Deno.Command("ctr", {
        args: ["--address", sock, "version"],
        stdout: "piped",
        stderr: "piped",
      }).output();
    let out = await ctr();
    assert.equal(out.code, 0, td.decode(out.stderr));
    assert.match(td.decode(out.stdout), /berth/);

    await a.stop("SIGKILL");
    out = await ctr();
    assert.equal(out.code, 0, "containerd survives dockerd's SIGKILL");

    const b = await startDockerd({ dir });
    assert.match(b.log(), /using the running containerd/);
    assert.equal(
      Number(Deno.readTextFileSync(`${dir}/exec/containerd/containerd.pid`).trim()),
      pid,
      "the same containerd is reused",
    );
    // A clean shutdown stops the containerd it manages (containers would keep running).
    assert.equal((await b.stop("SIGTERM")).code, 0);
    const gone = () => {
      try {
        return /^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
      } catch {
        return true;
      }
    };
    assert.ok(gone(), "containerd stopped (or is a zombie awaiting its reaper)");
    await b.close();
    await a.close();
  } finally {
    await killContainerd(dir);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/**
 * berth's containerd driven by the real `ctr` (Debian's containerd 1.6
 * package): version, namespaces, containers, labels, plugins and events.
 */
import assert from "node:assert/strict";
import { Client, containerReq, type Daemon, startDaemon } from "./helpers/containerd_api.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;
const CTR = "/usr/bin/ctr";
const haveCtr = (() => {
  try {
    return Deno.statSync(CTR).isFile;
  } catch {
    return false;
  }
})();

async function ctr(d: Daemon, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(CTR, { args: ["--address", d.address, ...args], stdin: "null" })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

async function ok(d: Daemon, args: string[]): Promise<string> {
  const r = await ctr(d, args);
  assert.equal(r.code, 0, `ctr ${args.join(" ")}: ${r.err}`);
  return r.out;
}

/** Table rows of ctr's output, header removed, split on runs of spaces. */
const rows = (out: string) => out.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));

Deno.test(
  { name: "ctr: version, namespaces, containers, events", ignore: !haveCtr, ...T },
  async () => {
    const d = await startDaemon();
    const c = new Client(d.address);
    let failed = true;
    const events = new Deno.Command(CTR, {
      args: ["--address", d.address, "events"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const version = await ok(d, ["version"]);
      assert.match(version, /Server:\s*\n\s*Version:\s+1\.6\.\d+\+berth/);
      assert.match(version, /UUID: [0-9a-f-]{36}/);

      await ok(d, ["namespaces", "create", "ctr-ns", "team=blue"]);
      const dup = await ctr(d, ["namespaces", "create", "ctr-ns"]);
      assert.notEqual(dup.code, 0);
      assert.match(dup.err, /namespace "ctr-ns": already exists/);
      await ok(d, ["namespaces", "label", "ctr-ns", "env=test"]);
      const nsRows = rows(await ok(d, ["namespaces", "ls"]));
      assert.deepEqual(nsRows, [["ctr-ns", "env=test,team=blue"]]);

      // A container made through the API, seen by ctr.
      await new Promise((r) => setTimeout(r, 300)); // `ctr events` subscribed
      await c.call(
        "containers",
        "Create",
        "ctr-ns",
        containerReq("box", { labels: { app: "web" }, image: "docker.io/library/busybox:latest" }),
      );
      await c.call("containers", "Create", "ctr-ns", containerReq("other"));
      assert.deepEqual(rows(await ok(d, ["-n", "ctr-ns", "containers", "ls"])), [
        ["box", "docker.io/library/busybox:latest", "io.containerd.runc.v2"],
        ["other", "-", "io.containerd.runc.v2"],
      ]);
      assert.equal(
        await ok(d, ["-n", "ctr-ns", "containers", "ls", "-q", "labels.app==web"]),
        "box\n",
      );
      assert.equal(await ok(d, ["-n", "default", "containers", "ls", "-q"]), "");
      const info = JSON.parse(await ok(d, ["-n", "ctr-ns", "containers", "info", "box"]));
      assert.equal(info.ID, "box");
      assert.deepEqual(info.Labels, { app: "web" });
      assert.equal(info.Runtime.Name, "io.containerd.runc.v2");
      assert.deepEqual(info.Spec.process.args, ["true"]);
      assert.ok(Date.parse(info.CreatedAt) > Date.now() - 60_000);

      await ok(d, ["-n", "ctr-ns", "containers", "label", "box", "tier=front"]);
      const labelled = JSON.parse(await ok(d, ["-n", "ctr-ns", "containers", "info", "box"]));
      assert.deepEqual(labelled.Labels, { app: "web", tier: "front" });

      const missing = await ctr(d, ["-n", "ctr-ns", "containers", "info", "nope"]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.err, /container "nope" in namespace "ctr-ns": not found/);

      const plugins = await ok(d, ["plugins", "ls"]);
      assert.match(plugins, /io\.containerd\.grpc\.v1\s+containers\s+-\s+ok/);

      // Namespaces in use cannot be removed; emptied, they can.
      const busy = await ctr(d, ["namespaces", "rm", "ctr-ns"]);
      assert.match(busy.out + busy.err, /must be empty/);
      await ok(d, ["-n", "ctr-ns", "containers", "rm", "box", "other"]);
      assert.equal(await ok(d, ["-n", "ctr-ns", "containers", "ls", "-q"]), "");
      await ok(d, ["namespaces", "rm", "ctr-ns"]);
      assert.deepEqual(rows(await ok(d, ["namespaces", "ls"])), []);

      // `ctr events` printed them, decoded (it knows containerd's event types).
      await new Promise((r) => setTimeout(r, 300));
      events.kill("SIGTERM");
      const out = new TextDecoder().decode((await events.output()).stdout);
      const lines = out.trim().split("\n");
      const create = lines.find((l) => l.includes(" ctr-ns /containers/create "));
      assert.ok(create, out);
      assert.deepEqual(JSON.parse(create.slice(create.indexOf("{"))), {
        id: "box",
        image: "docker.io/library/busybox:latest",
        runtime: { name: "io.containerd.runc.v2" },
      });
      assert.ok(
        lines.some((l) =>
          l.includes(" ctr-ns /containers/update ") && l.includes('"tier":"front"')
        ),
        out,
      );
      assert.ok(lines.some((l) => l.includes(' /containers/delete {"id":"other"}')), out);
      assert.ok(lines.some((l) => / \/namespaces\/delete \{"name":"ctr-ns"\}/.test(l)), out);
      failed = false;
    } finally {
      try {
        events.kill("SIGKILL");
      } catch { /* already gone */ }
      await events.status;
      c.close();
      if (failed) console.error(`--- daemon log ---\n${d.log().slice(-6000)}`);
      await d.cleanup();
    }
  },
);

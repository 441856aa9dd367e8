/**
 * Debian's `ctr` (containerd 1.6) as a client of berth's containerd: version,
 * namespaces, containers and a live `ctr events` stream see what our API made.
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { withDaemon } from "./helpers/containerd.ts";

const td = new TextDecoder();
const haveCtr = (() => {
  try {
    Deno.statSync("/usr/bin/ctr");
    return true;
  } catch {
    return false;
  }
})();

async function ctr(address: string, args: string[]) {
  const out = await new Deno.Command("ctr", {
    args: ["--address", address, ...args],
    stdin: "null",
  })
    .output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

Deno.test({
  name: "ctr: version, namespaces, containers and events against berth's containerd",
  ignore: !haveCtr,
  ...T,
  fn: async () => {
    await withDaemon({}, async (t) => {
      const v = await ctr(t.d.address, ["version"]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /Server:\s+Version:\s+1\.6\.\d+\+berth/);
      assert.match(v.stdout, /UUID: [0-9a-f-]{36}/);

      // A live event stream, started before anything happens.
      const events = new Deno.Command("ctr", {
        args: ["--address", t.d.address, "events"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let seen = "";
      const reading = (async () => {
        for await (const chunk of events.stdout) seen += td.decode(chunk);
      })();
      try {
        await new Promise((r) => setTimeout(r, 300));
        await t.container("ctr-ns", "viactr", { args: ["true"] });
        await t.container("other-ns", "other", { args: ["true"] });

        const ns = await ctr(t.d.address, ["namespaces", "ls"]);
        assert.equal(ns.code, 0, ns.stderr);
        assert.match(ns.stdout, /^ctr-ns\s/m);
        assert.match(ns.stdout, /^other-ns\s/m);

        const ls = await ctr(t.d.address, ["--namespace", "ctr-ns", "containers", "ls"]);
        assert.equal(ls.code, 0, ls.stderr);
        assert.match(ls.stdout, /^viactr\s/m);
        const other = await ctr(t.d.address, ["--namespace", "other-ns", "containers", "ls", "-q"]);
        assert.equal(other.stdout.trim(), "other", "namespaces keep containers apart");

        const info = await ctr(t.d.address, [
          "--namespace",
          "ctr-ns",
          "containers",
          "info",
          "viactr",
        ]);
        assert.equal(info.code, 0, info.stderr);
        assert.match(info.stdout, /"ID": "viactr"/);

        const del = await ctr(t.d.address, ["namespaces", "rm", "ctr-ns"]);
        assert.notEqual(del.code, 0, "a namespace holding containers is not removed");

        const deadline = Date.now() + 5000;
        while (!/\/containers\/create/.test(seen) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(seen, /ctr-ns\s+\/containers\/create/);
      } finally {
        events.kill("SIGTERM");
        await events.status;
        await reading.catch(() => {});
      }
    });
  },
});

/**
 * The containerd role as a process: flags and config file, its socket
 * (stale, live, permissions, removal), restarts, and crash safety of the
 * metadata: SIGKILL at random moments while clients create, update and
 * delete; after each restart every acknowledged change is there, intact.
 */
import assert from "node:assert/strict";
import {
  Client,
  containerReq,
  daemonArgs,
  failure,
  runContainerd,
  startDaemon,
  Status,
} from "./helpers/containerd_api.ts";
import { removeTree } from "./helpers/bundle.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test("containerd: flags and bad input", T, async () => {
  const v = await runContainerd(["--version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^containerd github\.com\/containerd\/containerd 1\.6\.\d+\+berth/);
  assert.equal((await runContainerd(["-v"])).code, 0);
  const h = await runContainerd(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--address value, -a value/);

  const cases: [string[], number, RegExp][] = [
    [["--bogus"], 2, /flag provided but not defined: -bogus/],
    [["extra-arg"], 2, /unexpected argument "extra-arg"/],
    [["--address"], 2, /flag needs an argument: -address/],
    [["--log-level", "loud"], 2, /not a valid log level: "loud"/],
    [["--root", "relative/dir"], 2, /root must be an absolute path/],
    [["--version=maybe"], 2, /invalid boolean value/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await runContainerd(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }

  const dir = await Deno.makeTempDir({ prefix: "berth-ctrd-flags-" });
  try {
    const bad: [string, RegExp][] = [
      ["root = [", /failed to load TOML/],
      ["root = 5", /root: expected a path/],
      ["[grpc]\ngid = -1", /grpc\.gid: expected an integer/],
      ['[plugins."berth.shim"]\ngroup_size = 0', /group_size: expected an integer >= 1/],
      ["version = 3", /unsupported config version 3/],
      ['[debug]\nlevel = "chatty"', /not a valid log level/],
    ];
    for (const [text, msg] of bad) {
      await Deno.writeTextFile(`${dir}/c.toml`, text);
      const r = await runContainerd(["--config", `${dir}/c.toml`, "--address", `${dir}/s.sock`]);
      assert.equal(r.code, 1, `${text}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    assert.equal((await Deno.readDir(dir)[Symbol.asyncIterator]().next()).done, false);
    await assert.rejects(Deno.stat(`${dir}/s.sock`));
  } finally {
    await removeTree(dir);
  }
});

Deno.test("containerd: config file, socket permissions and ownership", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-ctrd-conf-" });
  // Everything from the file (flags would win): root, state, [grpc], group size.
  const d = await startDaemon({
    config: [
      "version = 2",
      `root = "${dir}/croot"`,
      `state = "${dir}/cstate"`,
      "[grpc]",
      `address = "${dir}/c.sock"`,
      "gid = 4242",
      '[plugins."berth.shim"]',
      "group_size = 3",
    ].join("\n"),
  });
  try {
    // startDaemon passes --address/--root/--state: they win over the file.
    const st = await Deno.stat(d.address);
    assert.equal(st.mode! & 0o777, 0o660);
    assert.equal(st.gid, 4242);
    assert.equal(st.uid, 0);
    await assert.rejects(Deno.stat(`${dir}/c.sock`));
    await d.stop();

    // Without flags, the file's values are used.
    const proc = new Deno.Command(Deno.execPath(), {
      args: [...daemonArgs(d).slice(0, 4), "--config", `${d.dir}/config.toml`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const deadline = Date.now() + 15_000;
      while (true) {
        try {
          (await Deno.connect({ transport: "unix", path: `${dir}/c.sock` })).close();
          break;
        } catch {
          if (Date.now() > deadline) throw new Error("no socket from the config file");
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok((await Deno.stat(`${dir}/croot`)).isDirectory);
      assert.ok((await Deno.stat(`${dir}/cstate`)).isDirectory);
      assert.equal((await Deno.stat(`${dir}/c.sock`)).gid, 4242);
    } finally {
      proc.kill("SIGTERM");
      assert.equal((await proc.status).code, 0);
    }
    await assert.rejects(Deno.stat(`${dir}/c.sock`), "the socket is removed at exit");
  } finally {
    await d.cleanup();
    await removeTree(dir);
  }
});

Deno.test("containerd: one daemon per socket; stale sockets; clean stop", T, async () => {
  const d = await startDaemon();
  try {
    assert.equal((await Deno.stat(d.address)).mode! & 0o777, 0o600);
    // A second daemon on a live socket refuses to start and leaves the first alone.
    const second = await new Deno.Command(Deno.execPath(), { args: daemonArgs(d), stdin: "null" })
      .output();
    assert.equal(second.code, 1);
    assert.match(new TextDecoder().decode(second.stderr), /already listening/);
    const c = new Client(d.address);
    assert.ok((await c.call("version", "Version", undefined)).version);
    await c.call("containers", "Create", "keep", containerReq("c1"));
    c.close();

    // SIGKILL leaves a stale socket: the next start replaces it.
    assert.equal(await d.stop("SIGKILL"), 137);
    assert.ok((await Deno.lstat(d.address)).isSocket);
    await d.restart();
    const c2 = new Client(d.address);
    assert.equal((await c2.call("containers", "Get", "keep", { id: "c1" })).container.id, "c1");
    c2.close();

    // SIGTERM and SIGINT: exit 0, socket removed.
    assert.equal(await d.stop("SIGTERM"), 0);
    await assert.rejects(Deno.lstat(d.address));
    await d.restart();
    assert.equal(await d.stop("SIGINT"), 0);
    await assert.rejects(Deno.lstat(d.address));

    // Something that is not a socket is never replaced.
    await Deno.writeTextFile(d.address, "precious");
    const r = await new Deno.Command(Deno.execPath(), { args: daemonArgs(d), stdin: "null" })
      .output();
    assert.equal(r.code, 1);
    assert.match(new TextDecoder().decode(r.stderr), /exists and is not a socket/);
    assert.equal(await Deno.readTextFile(d.address), "precious");
  } finally {
    await d.cleanup();
  }
});

interface Expect {
  /** Acknowledged: must exist with these labels (and a spec naming it). */
  present: Map<string, Record<string, string>>;
  /** Acknowledged deletes: must not exist. */
  absent: Set<string>;
  /** Calls cut by the kill: either outcome is fine. */
  unsure: Set<string>;
}

/** Hammers the daemon with creates, label updates and deletes until it dies. */
async function churn(c: Client, ns: string, round: number, exp: Expect): Promise<void> {
  const worker = async (w: number) => {
    for (let i = 0;; i++) {
      const id = `r${round}-w${w}-${i}`;
      const labels = { round: String(round), i: String(i), pad: "x".repeat((i % 7 + 1) * 100) };
      exp.unsure.add(id);
      try {
        await c.call("containers", "Create", ns, containerReq(id, { labels, spec: { id, n: i } }));
      } catch {
        return;
      }
      exp.unsure.delete(id);
      exp.present.set(id, labels);
      // Update some, delete some of the earlier ones.
      if (i % 3 === 1) {
        exp.unsure.add(id);
        try {
          await c.call("containers", "Update", ns, {
            container: { id, labels: { upd: "yes" } },
            update_mask: { paths: ["labels.upd"] },
          });
        } catch {
          return;
        }
        exp.unsure.delete(id);
        exp.present.set(id, { ...labels, upd: "yes" });
      }
      if (i % 4 === 2) {
        const victim = `r${round}-w${w}-${i - 1}`;
        exp.unsure.add(victim);
        try {
          await c.call("containers", "Delete", ns, { id: victim });
        } catch {
          return;
        }
        exp.unsure.delete(victim);
        exp.present.delete(victim);
        exp.absent.add(victim);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
}

Deno.test("containerd: SIGKILL at any moment loses no acknowledged change", T, async () => {
  const d = await startDaemon({ extraArgs: ["--log-level", "info"] });
  const ns = "crash";
  const exp: Expect = { present: new Map(), absent: new Set(), unsure: new Set() };
  let failed = true;
  try {
    for (let round = 0; round < 8; round++) {
      const c = new Client(d.address);
      const work = churn(c, ns, round, exp);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 400));
      await d.stop("SIGKILL");
      await work;
      c.close();
      await d.restart();

      const c2 = new Client(d.address);
      try {
        const list = (await c2.call("containers", "List", ns, {})).containers as any[];
        const byId = new Map(list.map((x) => [x.id, x]));
        for (const [id, labels] of exp.present) {
          if (exp.unsure.has(id)) continue;
          const got = byId.get(id);
          assert.ok(got, `round ${round}: acknowledged container ${id} is missing`);
          assert.deepEqual(got.labels, labels, id);
        }
        for (const id of exp.absent) {
          if (!exp.unsure.has(id)) {
            assert.ok(!byId.has(id), `round ${round}: deleted ${id} is back`);
          }
        }
        for (const x of list) {
          const spec = JSON.parse(new TextDecoder().decode(x.spec.value));
          assert.equal(spec.id, x.id, "every record is whole");
          // Settle the unsure ones to what the daemon now says.
          if (exp.unsure.has(x.id)) exp.present.set(x.id, x.labels);
        }
        for (const id of exp.unsure) {
          if (!byId.has(id)) {
            exp.present.delete(id);
            exp.absent.add(id);
          }
        }
        exp.unsure.clear();
        assert.ok(exp.present.size > 0 || round === 0);
      } finally {
        c2.close();
      }
    }
    assert.ok(exp.present.size > 20, `only ${exp.present.size} containers were made`);
    // No temp file survives a start.
    const temps: string[] = [];
    const walk = async (dir: string) => {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory) await walk(`${dir}/${e.name}`);
        else if (e.name.startsWith(".tmp-")) temps.push(e.name);
      }
    };
    await walk(`${d.root}/metadata`);
    assert.deepEqual(temps, []);
    assert.doesNotMatch(d.log(), /level=error/);
    failed = false;
  } finally {
    if (failed) console.error(`--- daemon log ---\n${d.log().slice(-6000)}`);
    await d.cleanup();
  }
});

Deno.test("containerd: namespaces and labels survive a restart", T, async () => {
  const d = await startDaemon();
  try {
    let c = new Client(d.address);
    await c.call("namespaces", "Create", undefined, {
      namespace: { name: "kept", labels: { a: "1" } },
    });
    await c.call("namespaces", "Create", undefined, { namespace: { name: "dropped" } });
    await c.call("namespaces", "Delete", undefined, { name: "dropped" });
    const made =
      (await c.call("containers", "Create", "kept", containerReq("one", { labels: { x: "y" } })))
        .container;
    c.close();
    await d.stop("SIGKILL");
    await d.restart();
    c = new Client(d.address);
    try {
      const names = (await c.call("namespaces", "List", undefined, {})).namespaces;
      assert.deepEqual(names, [{ name: "kept", labels: { a: "1" } }]);
      assert.deepEqual((await c.call("containers", "Get", "kept", { id: "one" })).container, made);
      assert.equal(
        (await failure(c.call("containers", "Create", "kept", containerReq("one")))).code,
        Status.ALREADY_EXISTS,
      );
    } finally {
      c.close();
    }
  } finally {
    await d.cleanup();
  }
});

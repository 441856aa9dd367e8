/**
 * The shim with real containers: started as its own detached process, driven
 * through its socket as containerd drives it.
 */
import assert from "node:assert/strict";
import { type Bundle, makeBundle, templateRootfs, uniqueId } from "./helpers/bundle.ts";
import { T } from "./helpers/fixture.ts";
import {
  assertNoLeaks,
  forceCleanup,
  mountsMentioning,
  removeTestCgroupParents,
  testCgroupDirs,
} from "./helpers/leaks.ts";
import { deleteAll } from "./helpers/runtime.ts";
import { connectShim, ShimClient, ShimError, startShim } from "../shim/client.ts";
import type { Event } from "../shim/api.ts";
import type { Spec } from "../runtime/spec/types.ts";

interface World {
  dir: string;
  runtimeRoot: string;
  shim: ShimClient;
  bundles: Bundle[];
  bundle(
    args: string[],
    opts?: { terminal?: boolean; mutate?: (spec: Spec) => void; noConfig?: boolean },
  ): Promise<Bundle & { id: string }>;
  ids: string[];
  events: Event[];
}

function shimPid(dir: string): number {
  return Number(Deno.readTextFileSync(`${dir}/shim/shim.pid`).trim());
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `fn` with a shim started in a fresh directory; then removes everything
 * (shim, containers, mounts, cgroups, directories) and asserts that nothing
 * was left before that forced clean-up.
 */
async function withShim(fn: (w: World) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-shim-" });
  const runtimeRoot = `${dir}/runc`;
  const shim = await startShim(`${dir}/shim`);
  const events: Event[] = [];
  (async () => {
    for await (const e of shim.events()) events.push(e);
  })().catch(() => {});
  const w: World = {
    dir,
    runtimeRoot,
    shim,
    bundles: [],
    ids: [],
    events,
    async bundle(args, opts = {}) {
      const id = uniqueId();
      const b = await makeBundle({ args, id, ...opts });
      w.bundles.push(b);
      w.ids.push(id);
      return { ...b, id };
    },
  };
  const markers = () => [dir, ...w.bundles.map((b) => b.dir)];
  const cgroups = () => w.ids.flatMap(testCgroupDirs);
  let failed = false;
  try {
    await fn(w);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // A test that passed deleted its containers: then nothing may be left.
    if (!failed) {
      w.shim.close();
      await assertNoLeaks(markers(), cgroups());
    }
    await forceCleanup(markers(), cgroups());
    const pid = (() => {
      try {
        return shimPid(dir);
      } catch {
        return 0;
      }
    })();
    shim.close();
    await deleteAll(runtimeRoot).catch(() => {});
    if (pid && alive(pid)) Deno.kill(pid, "SIGKILL");
    for (const b of w.bundles) {
      await new Deno.Command("umount", { args: ["-l", `${b.dir}/rootfs`], stderr: "null" })
        .output().catch(() => {});
      await b.cleanup();
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    removeTestCgroupParents();
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function attach(
  bundleDir: string,
  header: Record<string, unknown>,
): Promise<{ conn: Deno.UnixConn; output: Promise<Uint8Array> }> {
  const conn = await Deno.connect({ transport: "unix", path: `${bundleDir}/attach.sock` });
  await conn.write(enc.encode(JSON.stringify(header) + "\n"));
  const output = (async () => {
    const parts: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return all;
  })();
  return { conn, output };
}

/** Splits Docker's multiplexed frames into per-stream text. */
function demux(data: Uint8Array): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  let off = 0;
  while (off + 8 <= data.length) {
    const size = new DataView(data.buffer, data.byteOffset + off + 4, 4).getUint32(0);
    const body = dec.decode(data.subarray(off + 8, off + 8 + size));
    if (data[off] === 1) out.stdout += body;
    else out.stderr += body;
    off += 8 + size;
  }
  return out;
}

/** The json-file log of `echo out; echo err >&2`: one line each, nanosecond times. */
function assertOutErrLog(logPath: string): void {
  const lines = Deno.readTextFileSync(logPath).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.stream, l.log]).sort(), [
    ["stderr", "err\n"],
    ["stdout", "out\n"],
  ]);
  for (const l of lines) assert.match(l.time, /\.\d{9}Z$/);
}

Deno.test("shim: create, start, wait; json-file log; events; exits after delete", T, async () => {
  await withShim(async (w) => {
    const b = await w.bundle(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    const logPath = `${w.dir}/c.log`;
    const { pid } = await w.shim.call("create", {
      id: b.id,
      bundle: b.dir,
      stdio: { log: { path: logPath } },
      runtimeRoot: w.runtimeRoot,
    });
    assert.ok(pid > 0);
    assert.equal((await w.shim.call("state", { id: b.id })).status, "created");
    await w.shim.call("start", { id: b.id });
    const exit = await w.shim.call("wait", { id: b.id });
    assert.equal(exit.status, 7);
    assert.match(exit.exitedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // The exit was durable before it was reported.
    const recorded = JSON.parse(Deno.readTextFileSync(`${b.dir}/exits/init.json`));
    assert.deepEqual(recorded, exit);
    assertOutErrLog(logPath);

    const shim = shimPid(w.dir);
    await w.shim.call("delete", { id: b.id });
    await waitFor("the shim to exit", () => !alive(shim));
    assert.ok(w.events.some((e) => e.type === "exit" && e.exit.status === 7));
    assert.ok(w.events.some((e) => e.type === "start"));
  });
});

Deno.test(
  "shim: a runtime binary the caller names (Debian's runc) runs the container",
  T,
  async () => {
    // Without one the shim runs berth's runtime in-process; with one, every
    // step goes through that binary's command line.
    await withShim(async (w) => {
      const b = await w.bundle(["sh", "-c", "echo out; echo err >&2; exec sleep 1000"]);
      const logPath = `${w.dir}/c.log`;
      const { pid } = await w.shim.call("create", {
        id: b.id,
        bundle: b.dir,
        stdio: { log: { path: logPath } },
        runtimeRoot: w.runtimeRoot,
        runtime: ["/usr/sbin/runc"],
      });
      // runc's own state, under the root the shim was given.
      const state = JSON.parse(Deno.readTextFileSync(`${w.runtimeRoot}/${b.id}/state.json`));
      assert.equal(state.init_process_pid, pid);
      await w.shim.call("start", { id: b.id });
      assert.equal((await w.shim.call("state", { id: b.id })).status, "running");
      await w.shim.call("kill", { id: b.id, signal: 9 });
      const exit = await w.shim.call("wait", { id: b.id });
      assert.equal(exit.status, 128 + 9);
      assertOutErrLog(logPath);
      await w.shim.call("delete", { id: b.id });
      assert.throws(() => Deno.statSync(`${w.runtimeRoot}/${b.id}`));
    });
  },
);

Deno.test("shim: attach clients share live output and write stdin", T, async () => {
  await withShim(async (w) => {
    const b = await w.bundle(["sh", "-c", "read a; echo got:$a; echo oops >&2"]);
    await w.shim.call("create", {
      id: b.id,
      bundle: b.dir,
      stdio: { openStdin: true, stdinOnce: true },
      runtimeRoot: w.runtimeRoot,
    });
    const a1 = await attach(b.dir, { stdin: true, stdout: true, stderr: true });
    const a2 = await attach(b.dir, { stdout: true });
    await w.shim.call("start", { id: b.id });
    await a1.conn.write(enc.encode("hi\n"));
    await a1.conn.closeWrite();
    assert.equal((await w.shim.call("wait", { id: b.id })).status, 0);
    assert.deepEqual(demux(await a1.output), { stdout: "got:hi\n", stderr: "oops\n" });
    assert.deepEqual(demux(await a2.output), { stdout: "got:hi\n", stderr: "" });
    await w.shim.call("delete", { id: b.id });
  });
});

Deno.test("shim: a terminal is resized; exec runs with its own stdio", T, async () => {
  await withShim(async (w) => {
    const b = await w.bundle(["sh", "-c", "sleep 0.5; stty size; sleep 1000"], {
      terminal: true,
    });
    await w.shim.call("create", {
      id: b.id,
      bundle: b.dir,
      stdio: { terminal: true, log: { path: `${w.dir}/t.log` } },
      runtimeRoot: w.runtimeRoot,
    });
    const a = await attach(b.dir, { stdout: true });
    await w.shim.call("start", { id: b.id });
    await w.shim.call("resize", { id: b.id, width: 91, height: 33 });
    await waitFor("stty output", () => Deno.readTextFileSync(`${w.dir}/t.log`).includes("33 91"));

    await w.shim.call("exec", {
      id: b.id,
      execId: "e1",
      process: {
        args: ["sh", "-c", "echo in-exec; exit 5"],
        cwd: "/",
        env: ["PATH=/bin"],
        user: { uid: 0, gid: 0 },
      },
      stdio: {},
    });
    const e = await attach(b.dir, { execId: "e1", stdout: true });
    await w.shim.call("start", { id: b.id, execId: "e1" });
    assert.equal((await w.shim.call("wait", { id: b.id, execId: "e1" })).status, 5);
    assert.equal(demux(await e.output).stdout, "in-exec\n");
    const pids = await w.shim.call("pids", { id: b.id });
    assert.ok(pids.pids.length >= 1);
    await w.shim.call("delete", { id: b.id, execId: "e1" });

    // A long exec is the shim's own child: no runtime process waits for it.
    await w.shim.call("exec", {
      id: b.id,
      execId: "long",
      process: { args: ["sleep", "1000"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } },
      stdio: {},
    });
    const { pid: longPid } = await w.shim.call("start", { id: b.id, execId: "long" });
    assert.equal(sessionOf(longPid).ppid, shimPid(w.dir));
    await w.shim.call("kill", { id: b.id, execId: "long", signal: 15 });
    assert.equal((await w.shim.call("wait", { id: b.id, execId: "long" })).status, 143);

    // No descriptor of the shim (the pty master above all) reaches the container.
    for (const pid of ["self", "1"]) {
      const execId = `fds-${pid}`;
      await w.shim.call("exec", {
        id: b.id,
        execId,
        process: {
          args: ["sh", "-c", `ls /proc/${pid}/fd | tr '\\n' ' '`],
          cwd: "/",
          env: ["PATH=/bin"],
          user: { uid: 0, gid: 0 },
        },
        stdio: {},
      });
      const f = await attach(b.dir, { execId, stdout: true });
      await w.shim.call("start", { id: b.id, execId });
      await w.shim.call("wait", { id: b.id, execId });
      // ls's own directory fd is 3 when it lists itself.
      assert.equal(demux(await f.output).stdout, pid === "self" ? "0 1 2 3 " : "0 1 2 ");
    }

    await w.shim.call("kill", { id: b.id, signal: 9 });
    assert.equal((await w.shim.call("wait", { id: b.id })).status, 137);
    assert.match(dec.decode(await a.output), /33 91/);
    await w.shim.call("delete", { id: b.id });
  });
});

Deno.test("shim: an exit while no client is connected is kept for the next one", T, async () => {
  await withShim(async (w) => {
    const b = await w.bundle(["sh", "-c", "sleep 0.5; exit 4"]);
    await w.shim.call("create", { id: b.id, bundle: b.dir, stdio: {}, runtimeRoot: w.runtimeRoot });
    await w.shim.call("start", { id: b.id });
    w.shim.close(); // containerd goes away
    await new Promise((r) => setTimeout(r, 1500));
    const again = await connectShim(`${w.dir}/shim`);
    try {
      const st = await again.call("state", { id: b.id });
      assert.equal(st.status, "stopped");
      assert.equal(st.exit?.status, 4);
      assert.deepEqual(await again.call("wait", { id: b.id }), st.exit);
      const seen: Event[] = [];
      const it = again.events()[Symbol.asyncIterator]();
      // The exit event raised while nobody listened arrives on subscribe.
      const first = await it.next();
      if (!first.done) seen.push(first.value);
      assert.ok(seen.some((e) => e.type === "exit" && e.exit.status === 4));
      await again.call("delete", { id: b.id });
    } finally {
      again.close();
    }
  });
});

Deno.test("shim: a full-speed writer is never blocked by a missing reader", T, async () => {
  await withShim(async (w) => {
    // 52 MiB (32 MiB of 16 KiB pieces, 20 MiB of `yes`: 10 M lines) through
    // a FIFO that nobody reads and the json-file log.
    const fifo = `${w.dir}/out.fifo`;
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const reader = await Deno.open(fifo, { read: true, write: true }); // opened, never read
    try {
      const b = await w.bundle([
        "sh",
        "-c",
        "head -c 33554432 /dev/zero | tr '\\0' x; echo; yes | head -c 20971520",
      ]);
      await w.shim.call("create", {
        id: b.id,
        bundle: b.dir,
        stdio: { stdout: fifo, log: { path: `${w.dir}/big.log`, maxSize: 1 << 20, maxFile: 3 } },
        runtimeRoot: w.runtimeRoot,
      });
      await w.shim.call("start", { id: b.id });
      const t0 = performance.now();
      const exit = await w.shim.call("wait", { id: b.id });
      assert.equal(exit.status, 0);
      assert.ok(performance.now() - t0 < 30_000, "the writer was slowed down");
      assert.match(readShimLog(w.dir), /out\.fifo: reader too slow/);
      // Rotation kept three files of about 1 MiB.
      for (const f of ["big.log", "big.log.1", "big.log.2"]) {
        const size = Deno.statSync(`${w.dir}/${f}`).size;
        assert.ok(size <= 1 << 20, `${f}: ${size}`);
      }
      assert.throws(() => Deno.statSync(`${w.dir}/big.log.3`));
      await w.shim.call("delete", { id: b.id });
    } finally {
      reader.close();
    }
  });
});

Deno.test("shim: one shim supervises a group of containers", T, async () => {
  await withShim(async (w) => {
    const a = await w.bundle(["sleep", "1000"]);
    const b = await w.bundle(["sleep", "1000"]);
    for (const c of [a, b]) {
      await w.shim.call("create", {
        id: c.id,
        bundle: c.dir,
        stdio: {},
        runtimeRoot: w.runtimeRoot,
      });
      await w.shim.call("start", { id: c.id });
    }
    assert.equal((await w.shim.call("list", {})).containers.length, 2);
    const shim = shimPid(w.dir);
    for (const c of [a, b]) {
      // (SIGKILL: sleep as a pid namespace's init ignores SIGTERM.)
      await w.shim.call("kill", { id: c.id, signal: 9 });
      assert.equal((await w.shim.call("wait", { id: c.id })).status, 137);
    }
    await w.shim.call("delete", { id: a.id });
    assert.ok(alive(shim), "the shim stays while a container is left");
    await w.shim.call("delete", { id: b.id });
    await waitFor("the shim to exit", () => !alive(shim));
  });
});

Deno.test("shim: bad input gets clear errors", T, async () => {
  await withShim(async (w) => {
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return "ok";
      } catch (e) {
        assert.ok(e instanceof ShimError);
        return e.code;
      }
    };
    assert.equal(await code(w.shim.call("state", { id: "nope" })), "not_found");
    assert.equal(
      await code(
        w.shim.call("create", {
          id: "../x",
          bundle: "/tmp",
          stdio: {},
          runtimeRoot: w.runtimeRoot,
        }),
      ),
      "invalid_argument",
    );
    const b = await w.bundle(["sleep", "1000"]);
    const params = { id: b.id, bundle: b.dir, stdio: {}, runtimeRoot: w.runtimeRoot };
    await w.shim.call("create", params);
    assert.equal(await code(w.shim.call("create", params)), "already_exists");
    await w.shim.call("start", { id: b.id });
    assert.equal(await code(w.shim.call("delete", { id: b.id })), "failed_precondition");
    assert.equal(await code(w.shim.call("start", { id: b.id })), "failed_precondition");
    assert.equal(
      await code(w.shim.call("resize", { id: b.id, width: 80, height: 24 })),
      "failed_precondition",
    );
    assert.equal(
      await code(w.shim.call("kill", { id: b.id, execId: "x", signal: 9 })),
      "not_found",
    );
    assert.equal(await code(w.shim.call("delete", { id: "nope" })), "not_found");
    assert.equal(
      await code(w.shim.call("exec", {
        id: "nope",
        execId: "e",
        process: { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 } },
        stdio: {},
      })),
      "not_found",
    );
    // deno-lint-ignore no-explicit-any
    const untyped = w.shim as any;
    assert.equal(await code(untyped.call("frobnicate", {})), "invalid_argument");
    assert.equal(await code(untyped.call("kill", { id: b.id, signal: "x" })), "invalid_argument");
    assert.equal(await code(untyped.call("state", undefined)), "not_found");
    // A malformed line is answered, not fatal.
    const raw = await Deno.connect({ transport: "unix", path: `${w.dir}/shim/shim.sock` });
    await raw.write(enc.encode("{not json\n"));
    const buf = new Uint8Array(4096);
    const n = await raw.read(buf);
    raw.close();
    assert.match(dec.decode(buf.subarray(0, n!)), /invalid_argument/);
    assert.equal((await w.shim.call("state", { id: b.id })).status, "running");
    await w.shim.call("delete", { id: b.id, force: true });
  });
});

/** The shim's session id and parent, from /proc/PID/stat. */
function sessionOf(pid: number): { ppid: number; session: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(f[1]), session: Number(f[3]) };
}

Deno.test("shim: the death of the process that started it does not reach it", T, async () => {
  await withShim(async (w) => {
    const b = await w.bundle([
      "sh",
      "-c",
      "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done",
    ]);
    const logPath = `${w.dir}/c.log`;
    // A containerd stand-in in its own process: it starts a shim, creates, starts and dies.
    const starter = `${w.dir}/starter.ts`;
    Deno.writeTextFileSync(
      starter,
      `import { startShim } from ${
        JSON.stringify(new URL("../shim/client.ts", import.meta.url).href)
      };
const [dir, id, bundle, runtimeRoot, path] = Deno.args;
const c = await startShim(dir);
await c.call("create", { id, bundle, runtimeRoot, stdio: { log: { path } } });
await c.call("start", { id });
console.log("ready");
await new Promise(() => {});
`,
    );
    const dir2 = `${w.dir}/shim2`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", starter, dir2, b.id, b.dir, w.runtimeRoot, logPath],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert.equal(dec.decode(first.value).trim(), "ready");
    const shim = Number(Deno.readTextFileSync(`${dir2}/shim.pid`));
    assert.equal(sessionOf(shim).session, shim, "the shim leads its own session");
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});

    await waitFor("the shim to be re-parented", () => sessionOf(shim).ppid !== child.pid);
    const lines = () => Deno.readTextFileSync(logPath).split("\n").length;
    const before = lines();
    await waitFor("more output logged", () => lines() > before + 5);
    const c = await connectShim(dir2);
    try {
      assert.equal((await c.call("state", { id: b.id })).status, "running");
      await c.call("kill", { id: b.id, signal: 9 });
      assert.equal((await c.call("wait", { id: b.id })).status, 137);
      await c.call("delete", { id: b.id });
    } finally {
      c.close();
    }
    await waitFor("the shim to exit", () => !alive(shim));
    // The harness's own shim never got a container: shutdown ends it.
    const own = shimPid(w.dir);
    await w.shim.call("shutdown", {});
    await waitFor("the unused shim to exit", () => !alive(own));
  });
});

Deno.test("shim: orphans re-parented to the shim are reaped", T, async () => {
  await withShim(async (w) => {
    // Without a pid namespace, a process the container orphans goes to the
    // nearest subreaper: the shim.
    const b = await w.bundle(
      ["sh", "-c", "(sleep 1 & echo $! > /tmp/orphan.pid); exec sleep 1000"],
      {
        mutate: (spec) => {
          spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== "pid");
          spec.root!.readonly = false;
        },
      },
    );
    await w.shim.call("create", { id: b.id, bundle: b.dir, stdio: {}, runtimeRoot: w.runtimeRoot });
    await w.shim.call("start", { id: b.id });
    const shim = shimPid(w.dir);
    let orphan = 0;
    await waitFor("the orphan's pid", () => {
      try {
        orphan = Number(Deno.readTextFileSync(`${b.rootfs}/tmp/orphan.pid`).trim());
      } catch { /* not yet */ }
      return orphan > 0;
    });
    assert.ok(orphan > 0);
    await waitFor("the orphan to be re-parented", () => sessionOf(orphan).ppid === shim);
    // Exited and reaped: no zombie left behind.
    await waitFor("the orphan to be reaped", () => {
      try {
        Deno.statSync(`/proc/${orphan}`);
        return false;
      } catch {
        return true;
      }
    }, 5000);
    assert.equal((await w.shim.call("state", { id: b.id })).status, "running");
    await w.shim.call("kill", { id: b.id, signal: 9 });
    assert.equal((await w.shim.call("wait", { id: b.id })).status, 137);
    await w.shim.call("delete", { id: b.id });
  });
});

Deno.test(
  "shim: rootfs mounts are made before create and removed at delete, also on failure",
  T,
  async () => {
    await withShim(async (w) => {
      const lower = await templateRootfs();
      const b = await w.bundle(["sh", "-c", "echo layered > /f; cat /f; ls /bin/busybox"]);
      await Deno.remove(b.rootfs, { recursive: true });
      const upper = `${w.dir}/upper`, work = `${w.dir}/work`;
      await Deno.mkdir(upper);
      await Deno.mkdir(work);
      b.spec!.root!.readonly = false;
      Deno.writeTextFileSync(b.config, JSON.stringify(b.spec));
      const logPath = `${w.dir}/c.log`;
      await w.shim.call("create", {
        id: b.id,
        bundle: b.dir,
        rootfs: [{
          type: "overlay",
          source: "overlay",
          options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
        }],
        stdio: { log: { path: logPath } },
        runtimeRoot: w.runtimeRoot,
      });
      assert.ok(mountsMentioning([b.rootfs]).length > 0, "the rootfs is mounted");
      await w.shim.call("start", { id: b.id });
      assert.equal((await w.shim.call("wait", { id: b.id })).status, 0);
      const logs = Deno.readTextFileSync(logPath).split("\n").filter(Boolean)
        .map((l) => JSON.parse(l).log).join("");
      assert.equal(logs, "layered\n/bin/busybox\n");
      assert.equal(
        Deno.readTextFileSync(`${upper}/f`),
        "layered\n",
        "writes went to the upper dir",
      );
      // A second container fails to create (no config.json): its bind mount is undone.
      const bad = await w.bundle(["true"], { noConfig: true });
      await assert.rejects(
        w.shim.call("create", {
          id: bad.id,
          bundle: bad.dir,
          rootfs: [{ type: "bind", source: lower, options: ["rbind", "ro"] }],
          stdio: {},
          runtimeRoot: w.runtimeRoot,
        }),
        ShimError,
      );
      assert.deepEqual(mountsMentioning([bad.rootfs]), []);
      // A mount that fails after another succeeded: the first one is undone too.
      await assert.rejects(
        w.shim.call("create", {
          id: bad.id,
          bundle: bad.dir,
          rootfs: [
            { type: "bind", source: lower, options: ["rbind", "ro"] },
            { type: "bind", source: `${w.dir}/missing`, target: "/mnt", options: ["bind"] },
          ],
          stdio: {},
          runtimeRoot: w.runtimeRoot,
        }),
        ShimError,
      );
      assert.deepEqual(mountsMentioning([bad.rootfs]), []);
      await w.shim.call("delete", { id: b.id });
      assert.deepEqual(mountsMentioning([b.rootfs]), []);
    });
  },
);

Deno.test(
  "shim: a terminal exec; `yes` at full speed with a FIFO and an attach client that never read",
  T,
  async () => {
    await withShim(async (w) => {
      const b = await w.bundle(["sleep", "1000"]);
      await w.shim.call("create", {
        id: b.id,
        bundle: b.dir,
        stdio: {},
        runtimeRoot: w.runtimeRoot,
      });
      await w.shim.call("start", { id: b.id });
      await w.shim.call("exec", {
        id: b.id,
        execId: "tty",
        process: {
          terminal: true,
          args: ["sh", "-c", "tty; stty size"],
          cwd: "/",
          env: ["PATH=/bin"],
          user: { uid: 0, gid: 0 },
          consoleSize: { height: 40, width: 120 },
        },
        stdio: { terminal: true },
      });
      const t = await attach(b.dir, { execId: "tty", stdout: true });
      await w.shim.call("start", { id: b.id, execId: "tty" });
      assert.equal((await w.shim.call("wait", { id: b.id, execId: "tty" })).status, 0);
      assert.match(dec.decode(await t.output), /^\/dev\/pts\/\d+\r\n40 120\r\n$/);

      const fifo = `${w.dir}/out.fifo`;
      await new Deno.Command("mkfifo", { args: [fifo] }).output();
      const held = await Deno.open(fifo, { read: true, write: true }); // never read
      try {
        await w.shim.call("exec", {
          id: b.id,
          execId: "yes",
          process: {
            args: ["sh", "-c", "yes | head -c 20971520"],
            cwd: "/",
            env: ["PATH=/bin"],
            user: { uid: 0, gid: 0 },
          },
          stdio: { stdout: fifo },
        });
        const stalled = await Deno.connect({ transport: "unix", path: `${b.dir}/attach.sock` });
        await stalled.write(enc.encode(JSON.stringify({ execId: "yes", stdout: true }) + "\n"));
        const t0 = performance.now();
        await w.shim.call("start", { id: b.id, execId: "yes" });
        assert.equal((await w.shim.call("wait", { id: b.id, execId: "yes" })).status, 0);
        assert.ok(performance.now() - t0 < 20_000);
        stalled.close();
        await waitFor(
          "drops counted in shim.log",
          () => /attach client of .* exec yes: \d+ bytes dropped/.test(readShimLog(w.dir)),
        );
        assert.match(readShimLog(w.dir), /stdout .*out\.fifo: reader too slow/);
      } finally {
        held.close();
      }
      await w.shim.call("kill", { id: b.id, signal: 9 });
      await w.shim.call("wait", { id: b.id });
      await w.shim.call("delete", { id: b.id });
    });
  },
);

function readShimLog(dir: string): string {
  try {
    return Deno.readTextFileSync(`${dir}/shim/shim.log`);
  } catch {
    return "";
  }
}

Deno.test("shim: an OOM kill inside a running container is an oom event", T, async () => {
  await withShim(async (w) => {
    // tail buffers a line that never ends: killed at the limit, the shell lives on.
    const b = await w.bundle(["sh", "-c", "tail /dev/zero; echo survived; sleep 1000"], {
      mutate: (spec) => {
        spec.linux!.resources = {
          ...spec.linux!.resources,
          memory: { limit: 32 << 20, swap: 32 << 20 },
        };
      },
    });
    const logPath = `${w.dir}/c.log`;
    await w.shim.call("create", {
      id: b.id,
      bundle: b.dir,
      stdio: { log: { path: logPath } },
      runtimeRoot: w.runtimeRoot,
    });
    await w.shim.call("start", { id: b.id });
    await waitFor("the shell to go on", () => {
      try {
        return Deno.readTextFileSync(logPath).includes("survived");
      } catch {
        return false;
      }
    });
    await waitFor("an oom event", () => w.events.some((e) => e.type === "oom" && e.id === b.id));
    assert.equal((await w.shim.call("state", { id: b.id })).status, "running");
    await w.shim.call("kill", { id: b.id, signal: 9 });
    await w.shim.call("wait", { id: b.id });
    await w.shim.call("delete", { id: b.id });
    assert.equal(w.events.filter((e) => e.type === "oom").length, 1, "reported once");
  });
});

for (const runtime of [undefined, ["/usr/sbin/runc"]]) {
  const through = runtime ? "Debian's runc (adopted from it)" : "the in-process runtime";
  Deno.test(
    `shim: quick and slower execs all report their own exit codes: ${through}`,
    T,
    () => quickAndSlowerExecs(runtime),
  );
}

async function quickAndSlowerExecs(runtime: string[] | undefined): Promise<void> {
  await withShim(async (w) => {
    const b = await w.bundle(["sleep", "1000"]);
    await w.shim.call("create", {
      id: b.id,
      bundle: b.dir,
      stdio: {},
      runtimeRoot: w.runtimeRoot,
      runtime,
    });
    await w.shim.call("start", { id: b.id });
    const shim = shimPid(w.dir);
    // Exits at about the moment the shim adopts the process from the runtime, and around it.
    const delays = ["", "0.01", "0.03", "0.05", "0.1", "0.2"];
    for (let i = 0; i < 18; i++) {
      const execId = `q${i}`;
      const delay = delays[i % delays.length];
      await w.shim.call("exec", {
        id: b.id,
        execId,
        process: {
          args: ["sh", "-c", `${delay ? `sleep ${delay}; ` : ""}exit ${i + 1}`],
          cwd: "/",
          env: ["PATH=/bin"],
          user: { uid: 0, gid: 0 },
        },
        stdio: {},
      });
      await w.shim.call("start", { id: b.id, execId });
      assert.equal((await w.shim.call("wait", { id: b.id, execId })).status, i + 1, execId);
      await w.shim.call("delete", { id: b.id, execId });
    }
    // No runtime process is left waiting.
    const children = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter(
      (e) => {
        try {
          return sessionOf(Number(e.name)).ppid === shim;
        } catch {
          return false;
        }
      },
    );
    assert.equal(children.length, 1, "only the container's init is the shim's child");
    await w.shim.call("kill", { id: b.id, signal: 9 });
    await w.shim.call("wait", { id: b.id });
    await w.shim.call("delete", { id: b.id });
  });
}

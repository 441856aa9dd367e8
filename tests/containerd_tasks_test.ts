/**
 * containerd's Tasks API, end to end: berth's containerd as a subprocess,
 * a grpc-js client with the same protos, busybox containers made through
 * the Containers API. Each test checks that no shim, container process,
 * mount or cgroup is left afterwards.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@7.6.6";
import { T } from "./helpers/fixture.ts";
import { waitFor } from "./helpers/runtime.ts";
import {
  bindRootfs,
  codeOf,
  createContainer,
  type DaemonCtx,
  PROTO_DIR,
  withDaemon,
} from "./helpers/containerd.ts";

const NOT_FOUND = 5, ALREADY_EXISTS = 6, FAILED_PRECONDITION = 9, INVALID_ARGUMENT = 3;
const NS = "berth-test";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Process spec for Exec (as ctr sends it: JSON in an Any). */
function processAny(args: string[], terminal = false) {
  const proc = {
    terminal,
    user: { uid: 0, gid: 0 },
    args,
    env: ["PATH=/bin"],
    cwd: "/",
  };
  return {
    type_url: "types.containerd.io/opencontainers/runtime-spec/1/Process",
    value: new TextEncoder().encode(JSON.stringify(proc)),
  };
}

async function runningTask(t: DaemonCtx, ns: string, id: string, args = ["sleep", "3600"]) {
  await t.container(ns, id, { args });
  await t.c.tasks("Create", ns, { container_id: id });
  await t.c.tasks("Start", ns, { container_id: id });
}

Deno.test(
  "tasks: create, start, wait, delete with events in order and stdout to a file",
  T,
  async () => {
    await withDaemon({}, async (t) => {
      const out = `${t.d.dir}/out.txt`;
      await t.container(NS, "life", { args: ["sh", "-c", "echo hello; exit 7"] });
      const created = await t.c.tasks("Create", NS, {
        container_id: "life",
        stdout: `file://${out}`,
      });
      assert.equal(created.container_id, "life");
      assert.ok(created.pid > 0);
      const bundle = `${t.d.state}/tasks/${NS}/life`;
      assert.ok(exists(`${bundle}/config.json`), "bundle written");

      let { process } = await t.c.tasks("Get", NS, { container_id: "life" });
      assert.equal(process.status, "CREATED");
      assert.equal(process.id, "life");
      assert.equal(process.stdout, `file://${out}`);

      const waited = t.c.tasks("Wait", NS, { container_id: "life" });
      const started = await t.c.tasks("Start", NS, { container_id: "life" });
      assert.equal(started.pid, created.pid);
      const w = await waited;
      assert.equal(w.exit_status, 7);
      assert.ok(w.exited_at.seconds > 0);

      ({ process } = await t.c.tasks("Get", NS, { container_id: "life" }));
      assert.equal(process.status, "STOPPED");
      assert.equal(process.exit_status, 7);
      const { tasks } = await t.c.tasks("List", NS, {});
      assert.deepEqual(tasks.map((p: any) => [p.id, p.status]), [["life", "STOPPED"]]);

      const del = await t.c.tasks("Delete", NS, { container_id: "life" });
      assert.equal(del.exit_status, 7);
      assert.equal(del.pid, created.pid);
      assert.equal(Deno.readTextFileSync(out), "hello\n");
      assert.ok(!exists(bundle), "bundle removed");
      assert.equal((await codeOf(t.c.tasks("Get", NS, { container_id: "life" }))).code, NOT_FOUND);

      await t.ev.next((e) => e.topic === "/tasks/delete");
      const mine = t.ev.events.filter((e) => e.topic.startsWith("/tasks/"));
      assert.deepEqual(mine.map((e) => e.topic), [
        "/tasks/create",
        "/tasks/start",
        "/tasks/exit",
        "/tasks/delete",
      ]);
      const [create, start, exit, delEv] = mine.map((e) => e.event);
      assert.equal(mine[0].namespace, NS);
      assert.equal(mine[2].type, "containerd.events.TaskExit");
      assert.equal(create.container_id, "life");
      assert.equal(create.bundle, bundle);
      assert.equal(create.io.stdout, `file://${out}`);
      assert.equal(create.pid, created.pid);
      assert.equal(start.pid, created.pid);
      assert.deepEqual(
        [exit.container_id, exit.id, exit.pid, exit.exit_status],
        ["life", "life", created.pid, 7],
      );
      assert.deepEqual([delEv.container_id, delEv.exit_status], ["life", 7]);
    });
  },
);

Deno.test("tasks: rootfs bind mount from the request, kill, pids", T, async () => {
  await withDaemon({}, async (t) => {
    const rootfs = await t.container(NS, "bound", { args: ["sleep", "3600"], bind: true });
    await t.c.tasks("Create", NS, { container_id: "bound", rootfs: bindRootfs(rootfs) });
    const bundle = `${t.d.state}/tasks/${NS}/bound`;
    await t.c.tasks("Start", NS, { container_id: "bound" });
    const { processes } = await t.c.tasks("ListPids", NS, { container_id: "bound" });
    assert.equal(processes.length, 1);
    const { process } = await t.c.tasks("Get", NS, { container_id: "bound" });
    assert.equal(processes[0].pid, process.pid);
    assert.equal(process.status, "RUNNING");

    await t.c.tasks("Kill", NS, { container_id: "bound", signal: 9 });
    const w = await t.c.tasks("Wait", NS, { container_id: "bound" });
    assert.equal(w.exit_status, 137);
    // Killing a finished process: NOT_FOUND, as containerd says it.
    const again = await codeOf(t.c.tasks("Kill", NS, { container_id: "bound", signal: 9 }));
    assert.equal(again.code, NOT_FOUND, again.details);
    assert.match(again.details, /process already finished/);
    await t.c.tasks("Delete", NS, { container_id: "bound" });
    assert.ok(!exists(bundle));
    assert.ok(exists(`${rootfs}/bin/busybox`), "the rootfs behind the bind mount is intact");
  });
});

Deno.test("tasks: exec, with its own events, exit and delete", T, async () => {
  await withDaemon({}, async (t) => {
    await runningTask(t, NS, "ex");
    const out = `${t.d.dir}/exec.txt`;
    assert.equal(
      (await codeOf(t.c.tasks("Exec", NS, {
        container_id: "ex",
        exec_id: "",
        spec: processAny(["true"]),
      }))).code,
      INVALID_ARGUMENT,
    );
    await t.c.tasks("Exec", NS, {
      container_id: "ex",
      exec_id: "e1",
      stdout: `file://${out}`,
      spec: processAny(["sh", "-c", "echo from-exec; exit 5"]),
    });
    const dup = await codeOf(t.c.tasks("Exec", NS, {
      container_id: "ex",
      exec_id: "e1",
      spec: processAny(["true"]),
    }));
    assert.equal(dup.code, ALREADY_EXISTS, dup.details);
    let { process } = await t.c.tasks("Get", NS, { container_id: "ex", exec_id: "e1" });
    assert.equal(process.status, "CREATED");
    const waited = t.c.tasks("Wait", NS, { container_id: "ex", exec_id: "e1" });
    const { pid } = await t.c.tasks("Start", NS, { container_id: "ex", exec_id: "e1" });
    assert.ok(pid > 0);
    assert.equal((await waited).exit_status, 5);
    ({ process } = await t.c.tasks("Get", NS, { container_id: "ex", exec_id: "e1" }));
    assert.equal(process.status, "STOPPED");
    assert.equal(process.id, "e1");
    assert.equal(process.exit_status, 5);
    const del = await t.c.tasks("DeleteProcess", NS, { container_id: "ex", exec_id: "e1" });
    assert.equal(del.exit_status, 5);
    assert.equal(del.id, "e1");
    assert.equal(Deno.readTextFileSync(out), "from-exec\n");
    const gone = await codeOf(t.c.tasks("Get", NS, { container_id: "ex", exec_id: "e1" }));
    assert.equal(gone.code, NOT_FOUND);

    const exit = await t.ev.next((e) => e.topic === "/tasks/exit" && e.event.id === "e1");
    assert.deepEqual([exit.event.container_id, exit.event.exit_status], ["ex", 5]);
    const topics = t.ev.events.map((e) => e.topic);
    const added = topics.indexOf("/tasks/exec-added");
    const started = topics.indexOf("/tasks/exec-started");
    assert.ok(
      added >= 0 && started > added && topics.indexOf("/tasks/exit") > started,
      topics.join(),
    );
    assert.equal(t.ev.events[started].event.pid, pid);
    // The init keeps running.
    ({ process } = await t.c.tasks("Get", NS, { container_id: "ex" }));
    assert.equal(process.status, "RUNNING");
  });
});

Deno.test(
  "tasks: pause and resume, and delete of a running or paused task is refused",
  T,
  async () => {
    await withDaemon({}, async (t) => {
      await runningTask(t, NS, "pz");
      await t.c.tasks("Pause", NS, { container_id: "pz" });
      let { process } = await t.c.tasks("Get", NS, { container_id: "pz" });
      assert.equal(process.status, "PAUSED");
      const paused = await codeOf(t.c.tasks("Delete", NS, { container_id: "pz" }));
      assert.equal(paused.code, FAILED_PRECONDITION, paused.details);
      await t.c.tasks("Resume", NS, { container_id: "pz" });
      ({ process } = await t.c.tasks("Get", NS, { container_id: "pz" }));
      assert.equal(process.status, "RUNNING");
      const running = await codeOf(t.c.tasks("Delete", NS, { container_id: "pz" }));
      assert.equal(running.code, FAILED_PRECONDITION, running.details);
      assert.match(running.details, /running/);
      await t.ev.next((e) => e.topic === "/tasks/resumed");
      const topics = t.ev.events.map((e) => e.topic);
      assert.ok(topics.indexOf("/tasks/paused") < topics.indexOf("/tasks/resumed"));
      assert.equal(t.ev.events.find((e) => e.topic === "/tasks/paused")!.event.container_id, "pz");
      // Still usable after the refusals.
      await t.c.tasks("Kill", NS, { container_id: "pz", signal: 9 });
      assert.equal((await t.c.tasks("Wait", NS, { container_id: "pz" })).exit_status, 137);
      await t.c.tasks("Delete", NS, { container_id: "pz" });
    });
  },
);

Deno.test("tasks: a terminal task sees ResizePty; CloseIO closes its stdin", T, async () => {
  await withDaemon({}, async (t) => {
    const out = `${t.d.dir}/tty.txt`;
    const rootfs = await t.container(NS, "tty", {
      args: ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; stty size"],
      terminal: true,
    });
    await t.c.tasks("Create", NS, { container_id: "tty", terminal: true, stdout: `file://${out}` });
    await t.c.tasks("Start", NS, { container_id: "tty" });
    await t.c.tasks("ResizePty", NS, { container_id: "tty", width: 123, height: 45 });
    await Deno.writeTextFile(`${rootfs}/tmp/go`, "");
    assert.equal((await t.c.tasks("Wait", NS, { container_id: "tty" })).exit_status, 0);
    await t.c.tasks("Delete", NS, { container_id: "tty" });
    assert.match(Deno.readTextFileSync(out), /45 123/);

    // cat ends when its stdin (a FIFO we hold open) is closed by CloseIO.
    const fifo = `${t.d.dir}/stdin.fifo`;
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    await t.container(NS, "cat", { args: ["cat"] });
    const writer = Deno.open(fifo, { write: true }); // opens once the shim opens it
    await t.c.tasks("Create", NS, { container_id: "cat", stdin: fifo });
    const w = await writer;
    await t.c.tasks("Start", NS, { container_id: "cat" });
    const waited = t.c.tasks("Wait", NS, { container_id: "cat" });
    await t.c.tasks("CloseIO", NS, { container_id: "cat", stdin: true });
    assert.equal((await waited).exit_status, 0);
    w.close();
    await t.c.tasks("Delete", NS, { container_id: "cat" });
  });
});

Deno.test("tasks: metrics as io.containerd.cgroups.v1.Metrics, and Update", T, async () => {
  await withDaemon({}, async (t) => {
    await t.container(NS, "met", {
      args: ["sleep", "3600"],
      mutate: (s) => {
        s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * 1024 * 1024 } };
      },
    });
    await t.c.tasks("Create", NS, { container_id: "met" });
    await t.c.tasks("Start", NS, { container_id: "met" });
    const { metrics } = await t.c.tasks("Metrics", NS, { filters: ["id==met"] });
    assert.equal(metrics.length, 1);
    assert.equal(metrics[0].id, "met");
    assert.equal(metrics[0].data.type_url, "io.containerd.cgroups.v1.Metrics");
    const root = await protobuf.load(`${PROTO_DIR}/cgroups/v1/metrics.proto`);
    const M = root.lookupType("io.containerd.cgroups.v1.Metrics");
    const m = M.toObject(M.decode(metrics[0].data.value), { longs: Number }) as any;
    assert.equal(m.memory.usage.limit, 64 * 1024 * 1024);
    assert.ok(m.memory.usage.usage > 0);
    assert.ok(m.cpu.usage.total > 0);
    assert.equal(m.pids.current, 1);

    const none = await t.c.tasks("Metrics", NS, { filters: ["id==other"] });
    assert.equal(none.metrics.length, 0);

    const resources = { memory: { limit: 32 * 1024 * 1024 } };
    await t.c.tasks("Update", NS, {
      container_id: "met",
      resources: {
        type_url: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
        value: new TextEncoder().encode(JSON.stringify(resources)),
      },
    });
    const after = await t.c.tasks("Metrics", NS, { filters: ["id==met"] });
    const m2 = M.toObject(M.decode(after.metrics[0].data.value), { longs: Number }) as any;
    assert.equal(m2.memory.usage.limit, 32 * 1024 * 1024);
  });
});

Deno.test("tasks: namespaces keep tasks apart", T, async () => {
  await withDaemon({}, async (t) => {
    await runningTask(t, "ns-a", "same");
    await t.container("ns-b", "same", { args: ["sh", "-c", "exit 3"] });
    await t.c.tasks("Create", "ns-b", { container_id: "same" });
    const a = await t.c.tasks("List", "ns-a", {});
    const b = await t.c.tasks("List", "ns-b", {});
    assert.deepEqual(a.tasks.map((p: any) => [p.id, p.status]), [["same", "RUNNING"]]);
    assert.deepEqual(b.tasks.map((p: any) => [p.id, p.status]), [["same", "CREATED"]]);
    assert.equal((await t.c.tasks("List", "ns-c", {})).tasks.length, 0);
    assert.equal(
      (await codeOf(t.c.tasks("Get", "ns-c", { container_id: "same" }))).code,
      NOT_FOUND,
    );
    await t.c.tasks("Start", "ns-b", { container_id: "same" });
    assert.equal((await t.c.tasks("Wait", "ns-b", { container_id: "same" })).exit_status, 3);
    assert.equal(
      (await t.c.tasks("Get", "ns-a", { container_id: "same" })).process.status,
      "RUNNING",
    );
    const exitB = await t.ev.next((e) => e.topic === "/tasks/exit");
    assert.equal(exitB.namespace, "ns-b");
    const metA = await t.c.tasks("Metrics", "ns-a", { filters: [] });
    assert.deepEqual(metA.metrics.map((m: any) => m.id), ["same"]);
    await t.c.tasks("Delete", "ns-b", { container_id: "same" });
    assert.equal(
      (await t.c.tasks("Get", "ns-a", { container_id: "same" })).process.status,
      "RUNNING",
    );
  });
});

Deno.test("tasks: bad input gets containerd's codes and leaves nothing behind", T, async () => {
  await withDaemon({}, async (t) => {
    const code = async (method: string, ns: string | undefined, req: unknown) =>
      (await codeOf(t.c.tasks(method, ns, req))).code;
    assert.equal(await code("Create", NS, { container_id: "nope" }), NOT_FOUND);
    assert.equal(await code("Start", NS, { container_id: "nope" }), NOT_FOUND);
    assert.equal(await code("Wait", NS, { container_id: "nope" }), NOT_FOUND);
    assert.equal(await code("Kill", NS, { container_id: "nope", signal: 9 }), NOT_FOUND);
    assert.equal(await code("Delete", NS, { container_id: "nope" }), NOT_FOUND);
    assert.equal(await code("List", undefined, {}), FAILED_PRECONDITION);

    // A container without a task.
    await t.container(NS, "idle", { args: ["true"] });
    const noTask = await codeOf(t.c.tasks("Get", NS, { container_id: "idle" }));
    assert.equal(noTask.code, NOT_FOUND);
    assert.match(noTask.details, /task idle not found/);

    // Duplicate task.
    await t.c.tasks("Create", NS, { container_id: "idle" });
    const dup = await codeOf(t.c.tasks("Create", NS, { container_id: "idle" }));
    assert.equal(dup.code, ALREADY_EXISTS, dup.details);
    assert.equal(await code("Start", NS, { container_id: "idle", exec_id: "nope" }), NOT_FOUND);
    await t.c.tasks("Start", NS, { container_id: "idle" });
    await t.c.tasks("Wait", NS, { container_id: "idle" });
    await t.c.tasks("Delete", NS, { container_id: "idle" });

    // Malformed spec: not JSON, and JSON without a process.
    const enc = new TextEncoder();
    await createContainer(t.c, NS, "bad-json", enc.encode("{not json"));
    const bad = await codeOf(t.c.tasks("Create", NS, { container_id: "bad-json" }));
    assert.equal(bad.code, INVALID_ARGUMENT, bad.details);
    await createContainer(t.c, NS, "bad-proc", enc.encode(JSON.stringify({ root: { path: "/" } })));
    assert.equal(await code("Create", NS, { container_id: "bad-proc" }), INVALID_ARGUMENT);
    await t.c.containers("Create", NS, {
      container: { id: "no-spec", runtime: { name: "io.containerd.runc.v2" } },
    }).catch(() => {});
    // Unsupported stdio.
    await t.container(NS, "bad-io", { args: ["true"] });
    assert.equal(
      await code("Create", NS, { container_id: "bad-io", stdout: "binary:///bin/logger" }),
      INVALID_ARGUMENT,
    );
    // A spec the runtime refuses (a root that does not exist): the shim's error, no leftovers.
    await t.container(NS, "bad-root", {
      args: ["true"],
      mutate: (s) => {
        s.root = { path: "/nonexistent/rootfs" };
      },
    });
    const rt = await codeOf(t.c.tasks("Create", NS, { container_id: "bad-root" }));
    assert.notEqual(rt.code, 0);
    assert.equal((await t.c.tasks("List", NS, {})).tasks.length, 0);
    for (const id of ["bad-json", "bad-proc", "bad-io", "bad-root"]) {
      assert.ok(!exists(`${t.d.state}/tasks/${NS}/${id}`), `no bundle left for ${id}`);
    }
    const shimDirs = () => {
      try {
        return [...Deno.readDirSync(`${t.d.state}/shims/${NS}`)].map((e) => e.name);
      } catch {
        return [];
      }
    };
    await waitFor(`shim dirs to go (${shimDirs()})`, () => shimDirs().length === 0, 5000);
  });
});

/** Runs Debian's ctr against the test daemon. */
async function ctr(t: DaemonCtx, ns: string, args: string[]) {
  const out = await new Deno.Command("ctr", {
    args: ["--address", t.d.address, "--namespace", ns, ...args],
    stdin: "null",
  }).output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

const haveCtr = (() => {
  try {
    Deno.statSync("/usr/bin/ctr");
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "tasks: the real ctr lists, inspects, kills and deletes our tasks",
  ignore: !haveCtr,
  ...T,
  fn: async () => {
    await withDaemon({}, async (t) => {
      await runningTask(t, NS, "viactr");
      const { process } = await t.c.tasks("Get", NS, { container_id: "viactr" });

      const ls = await ctr(t, NS, ["tasks", "ls"]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, new RegExp(`viactr\\s+${process.pid}\\s+RUNNING`));

      const ps = await ctr(t, NS, ["tasks", "ps", "viactr"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, new RegExp(`^${process.pid}\\b`, "m"));

      const met = await ctr(t, NS, ["tasks", "metrics", "viactr"]);
      assert.equal(met.code, 0, met.stderr);
      assert.match(met.stdout, /memory\.usage_in_bytes\s+\d+/);
      assert.match(met.stdout, /cpuacct\.usage\s+\d+/);
      assert.match(met.stdout, /pids\.current\s+1\b/);

      const early = await ctr(t, NS, ["tasks", "delete", "viactr"]);
      assert.notEqual(early.code, 0, "ctr refuses to delete a running task");

      const kill = await ctr(t, NS, ["tasks", "kill", "--signal", "SIGKILL", "viactr"]);
      assert.equal(kill.code, 0, kill.stderr);
      assert.equal((await t.c.tasks("Wait", NS, { container_id: "viactr" })).exit_status, 137);
      const stopped = await ctr(t, NS, ["tasks", "ls"]);
      assert.match(stopped.stdout, /viactr\s+\d+\s+STOPPED/);

      const del = await ctr(t, NS, ["tasks", "delete", "viactr"]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal((await t.c.tasks("List", NS, {})).tasks.length, 0);
      const none = await ctr(t, NS, ["tasks", "kill", "viactr"]);
      assert.notEqual(none.code, 0);
    });
  },
});

Deno.test("tasks: an OOM-killed task gets /tasks/oom before its exit", T, async () => {
  await withDaemon({}, async (t) => {
    const limit = 16 * 1024 * 1024;
    await t.container(NS, "hog", {
      args: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
      mutate: (s) => {
        s.linux!.resources = { ...s.linux!.resources, memory: { limit, swap: limit } };
      },
    });
    await t.c.tasks("Create", NS, { container_id: "hog" });
    await t.c.tasks("Start", NS, { container_id: "hog" });
    assert.equal((await t.c.tasks("Wait", NS, { container_id: "hog" })).exit_status, 137);
    const oom = await t.ev.next((e) => e.topic === "/tasks/oom");
    assert.equal(oom.event.container_id, "hog");
    assert.equal(oom.type, "containerd.events.TaskOOM");
    // Wait answers as soon as the exit is known; its event may still be on its way.
    await t.ev.next((e) => e.topic === "/tasks/exit");
    const topics = t.ev.events.map((e) => e.topic);
    assert.ok(topics.indexOf("/tasks/oom") < topics.indexOf("/tasks/exit"), topics.join());
    await t.c.tasks("Delete", NS, { container_id: "hog" });
  });
});

/**
 * Containers outlive containerd: SIGKILL the daemon, the shims keep the
 * containers (and their json-file logs) going; on restart containerd
 * re-adopts every task and learns (and publishes) the exits it missed.
 * And the other way round: SIGKILL a shim, and containerd reports its
 * container dead and cleans it up.
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { waitFor } from "./helpers/runtime.ts";
import { cgroupDirOf, processesMentioning } from "./helpers/leaks.ts";
import { withDaemon } from "./helpers/containerd.ts";

const NS = "berth-test";
const MiB = 1024 * 1024;

function size(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

// Prints "n <counter> <padding>" as fast as a shell loop can, with a short
// pause every 100 lines so the log grows by a few MB a second, not hundreds.
const COUNTER = [
  "sh",
  "-c",
  'i=0; p=$(printf "%0150d" 0); while true; do echo "n $i $p"; i=$((i+1)); ' +
  "[ $((i % 100)) = 0 ] && usleep 20000; done",
];

Deno.test(
  "daemonless: containers keep running and logging across a SIGKILL of containerd",
  T,
  async () => {
    await withDaemon({}, async (t) => {
      const log = `${t.d.dir}/counter.log`;
      await t.container(NS, "counter", { args: COUNTER, labels: { "berth.log.path": log } });
      await t.c.tasks("Create", NS, { container_id: "counter" });
      await t.c.tasks("Start", NS, { container_id: "counter" });
      const go = `${t.d.dir}/rootfs-${NS}-short/tmp/go`;
      await t.container(NS, "short", {
        args: ["sh", "-c", "while [ ! -e /tmp/go ]; do usleep 20000; done; exit 42"],
      });
      await t.c.tasks("Create", NS, { container_id: "short" });
      const { pid: shortPid } = await t.c.tasks("Start", NS, { container_id: "short" });
      await waitFor("the log to start", () => size(log) > 0);

      await t.d.stop("SIGKILL");
      const at = size(log);
      // While containerd is down: the log grows past 1 MiB more, "short" exits.
      await waitFor("the log to grow by 1 MiB", () => size(log) > at + MiB, 30_000);
      await Deno.writeTextFile(go, "");
      await waitFor("short to exit", () => !pidAlive(shortPid));

      await t.d.restart();
      await t.reconnect();
      const { tasks } = await t.c.tasks("List", NS, {});
      assert.deepEqual(
        tasks.map((p: any) => [p.id, p.status]),
        [["counter", "RUNNING"], ["short", "STOPPED"]],
      );
      const short = tasks.find((p: any) => p.id === "short");
      assert.equal(short.exit_status, 42);
      assert.equal((await t.c.tasks("Wait", NS, { container_id: "short" })).exit_status, 42);
      const exit = await t.ev.next((e) => e.topic === "/tasks/exit" && e.event.id === "short");
      assert.deepEqual([exit.namespace, exit.event.exit_status, exit.event.pid], [
        NS,
        42,
        shortPid,
      ]);
      await t.c.tasks("Delete", NS, { container_id: "short" });

      // The re-adopted counter still answers every call.
      await t.c.tasks("Pause", NS, { container_id: "counter" });
      await t.c.tasks("Resume", NS, { container_id: "counter" });
      await t.c.tasks("Kill", NS, { container_id: "counter", signal: 9 });
      assert.equal((await t.c.tasks("Wait", NS, { container_id: "counter" })).exit_status, 137);
      await t.c.tasks("Delete", NS, { container_id: "counter" });
      // Exactly one exit event per task, even across the restart.
      await new Promise((r) => setTimeout(r, 200));
      const exits = t.ev.events.filter((e) => e.topic === "/tasks/exit").map((e) => e.event.id);
      assert.deepEqual(exits.sort(), ["counter", "short"]);

      // The json-file log: every counter value once, in order, no gap.
      const lines = Deno.readTextFileSync(log).split("\n").filter(Boolean);
      assert.ok(lines.length > 5000, `${lines.length} lines`);
      let expect = 0;
      for (const line of lines) {
        const entry = JSON.parse(line);
        assert.equal(entry.stream, "stdout");
        const n = Number(/^n (\d+) /.exec(entry.log)?.[1]);
        assert.equal(n, expect, `log line ${expect}: ${line.slice(0, 80)}`);
        expect++;
      }
    });
  },
);

Deno.test(
  "daemonless: a SIGKILLed shim's container is reported dead and cleaned up",
  T,
  async () => {
    await withDaemon({}, async (t) => {
      await t.container(NS, "orphan", { args: ["sleep", "3600"] });
      await t.c.tasks("Create", NS, { container_id: "orphan" });
      const { pid } = await t.c.tasks("Start", NS, { container_id: "orphan" });
      const cgroup = cgroupDirOf(pid, "memory");
      assert.ok(cgroup, "the container has a memory cgroup");
      const shimPid = Number(Deno.readTextFileSync(`${t.d.state}/shims/${NS}/orphan/shim.pid`));
      assert.ok(pidAlive(shimPid));

      Deno.kill(shimPid, "SIGKILL");
      const exit = await t.ev.next((e) => e.topic === "/tasks/exit" && e.event.id === "orphan");
      assert.equal(exit.event.exit_status, 137);
      const { process } = await t.c.tasks("Get", NS, { container_id: "orphan" });
      assert.equal(process.status, "STOPPED");
      assert.equal(process.exit_status, 137);
      assert.equal((await t.c.tasks("Wait", NS, { container_id: "orphan" })).exit_status, 137);
      // Not leaked: the container's process and cgroup are gone already.
      await waitFor("the container to die", () => !pidAlive(pid));
      await waitFor("its cgroup to go", () => {
        try {
          Deno.statSync(cgroup!);
          return false;
        } catch {
          return true;
        }
      });
      await t.c.tasks("Delete", NS, { container_id: "orphan" });
      assert.deepEqual(processesMentioning([`${t.d.state}/shims/${NS}/orphan`]), []);
    });
  },
);

Deno.test(
  "daemonless: a shim killed while containerd is down is reaped at restart",
  T,
  async () => {
    await withDaemon({ shimGroupSize: 4 }, async (t) => {
      for (const id of ["g1", "g2"]) {
        await t.container(NS, id, { args: ["sleep", "3600"] });
        await t.c.tasks("Create", NS, { container_id: id });
        await t.c.tasks("Start", NS, { container_id: id });
      }
      const shims = [...Deno.readDirSync(`${t.d.state}/shims/${NS}`)].map((e) => e.name);
      assert.equal(shims.length, 1, "both containers share one shim");
      const shimPid = Number(
        Deno.readTextFileSync(`${t.d.state}/shims/${NS}/${shims[0]}/shim.pid`),
      );
      await t.d.stop("SIGKILL");
      Deno.kill(shimPid, "SIGKILL");
      await waitFor("the shim to die", () => !pidAlive(shimPid));
      await t.d.restart();
      await t.reconnect();
      const { tasks } = await t.c.tasks("List", NS, {});
      assert.deepEqual(
        tasks.map((p: any) => [p.id, p.status, p.exit_status]),
        [["g1", "STOPPED", 137], ["g2", "STOPPED", 137]],
      );
      for (const id of ["g1", "g2"]) {
        await t.ev.next((e) => e.topic === "/tasks/exit" && e.event.id === id);
        await t.c.tasks("Delete", NS, { container_id: id });
      }
    });
  },
);

Deno.test(
  "daemonless: SIGKILL of containerd in the middle of creates and deletes loses nothing",
  T,
  async () => {
    await withDaemon({ shimGroupSize: 2 }, async (t) => {
      const ids = ["k0", "k1", "k2", "k3", "k4", "k5"];
      for (const id of ids) await t.container(NS, id, { args: ["sleep", "3600"] });
      for (const delay of [40, 120, 250, 400]) {
        // Every container cycles create → start → kill → wait → delete until
        // the daemon dies; any error but the daemon's going away is a failure.
        const unexpected: string[] = [];
        const churn = ids.map(async (id) => {
          try {
            for (;;) {
              await t.c.tasks("Create", NS, { container_id: id });
              await t.c.tasks("Start", NS, { container_id: id });
              await t.c.tasks("Kill", NS, { container_id: id, signal: 9 });
              await t.c.tasks("Wait", NS, { container_id: id });
              await t.c.tasks("Delete", NS, { container_id: id });
            }
          } catch (e) {
            if ((e as { code?: number }).code !== 14) unexpected.push(`${id}: ${e}`);
          }
        });
        const settled = Promise.allSettled(churn);
        await new Promise((r) => setTimeout(r, delay));
        await t.d.stop("SIGKILL");
        await settled;
        assert.deepEqual(unexpected, [], `delay ${delay} ms`);
        await t.d.restart();
        await t.reconnect();
        // Whatever state each task was left in, it can be driven to the end,
        // and a new task can be made afterwards.
        const { tasks } = await t.c.tasks("List", NS, {});
        for (const p of tasks) {
          if (p.status !== "STOPPED") {
            await t.c.tasks("Kill", NS, { container_id: p.id, signal: 9, all: true });
          }
          await t.c.tasks("Wait", NS, { container_id: p.id });
          await t.c.tasks("Delete", NS, { container_id: p.id });
        }
        assert.deepEqual((await t.c.tasks("List", NS, {})).tasks, []);
        await waitFor(
          "shims to exit",
          () => processesMentioning([`${t.d.state}/shims`]).length === 0,
        );
      }
      for (const id of ids) {
        await t.c.tasks("Create", NS, { container_id: id });
        await t.c.tasks("Start", NS, { container_id: id });
      }
      assert.equal((await t.c.tasks("List", NS, {})).tasks.length, ids.length);
    });
  },
);

/**
 * Daemonless containers through dockerd: dockerd is killed with SIGKILL
 * while containers run; they keep running and logging, one exits meanwhile;
 * a new dockerd on the same data root re-adopts the running one (ps, logs -f,
 * stop) and reports the exit it missed.
 */
import assert from "node:assert/strict";
import { startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";

const COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done";

/** What the json-file log of container `name` holds (read straight from the data root). */
function logLines(dir: string, name: string): number[] {
  for (const e of Deno.readDirSync(`${dir}/data/containers`)) {
    const rec = JSON.parse(
      Deno.readTextFileSync(`${dir}/data/containers/${e.name}/config.v2.json`),
    );
    if (rec.Name !== name) continue;
    return numbers(
      Deno.readTextFileSync(rec.LogPath).split("\n").filter(Boolean)
        .map((l) => JSON.parse(l).log).join(""),
    );
  }
  throw new Error(`no container ${name}`);
}

function numbers(log: string): number[] {
  return log.split("\n").filter((l) => l).map(Number);
}

Deno.test(
  "dockerd killed with SIGKILL: containers keep running and are re-adopted",
  T,
  async () => {
    const a = await startDockerd({ busybox: true });
    const dir = a.dir;
    let b: Awaited<ReturnType<typeof startDockerd>> | undefined;
    try {
      const run = await a.docker([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "counter",
        "busybox",
        "sh",
        "-c",
        COUNTER,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const short = await a.docker([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "short",
        "busybox",
        "sh",
        "-c",
        "sleep 1.5; exit 5",
      ]);
      assert.equal(short.code, 0, short.stderr);
      await new Promise((r) => setTimeout(r, 500));

      assert.equal((await a.stop("SIGKILL")).signal, "SIGKILL");
      const before = logLines(dir, "/counter");
      // While no dockerd runs: the counter goes on, `short` exits.
      await new Promise((r) => setTimeout(r, 2000));

      b = await startDockerd({ dir });
      const ps = await b.docker(["ps", "--format", "{{.Names}} {{.State}}"]);
      assert.equal(ps.stdout.trim(), "counter running");
      const inspect = await b.docker([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "short",
      ]);
      assert.equal(inspect.stdout.trim(), "exited 5", inspect.stderr);

      // The log kept growing while dockerd was down, with no gap and no repeat.
      const logs = numbers((await b.docker(["logs", "counter"])).stdout);
      assert.ok(
        logs.length > before.length + 20,
        `${logs.length} lines after, ${before.length} before`,
      );
      logs.forEach((n, i) => assert.equal(n, i, `line ${i} of the log`));

      // logs -f follows the re-adopted container and ends when it stops.
      const follow = b.docker(["logs", "-f", "--tail", "1", "counter"]);
      await new Promise((r) => setTimeout(r, 500));
      const stop = await b.docker(["stop", "-t", "1", "counter"]);
      assert.equal(stop.code, 0, stop.stderr);
      const followed = await follow;
      assert.equal(followed.code, 0, followed.stderr);
      const tail = numbers(followed.stdout);
      assert.ok(tail.length > 5, `logs -f saw ${tail.length} lines`);
      tail.forEach((n, i) => i && assert.equal(n, tail[i - 1] + 1));
      const after = await b.docker(["inspect", "--format", "{{.State.Status}}", "counter"]);
      assert.equal(after.stdout.trim(), "exited");

      // The image survived the kill too.
      assert.match((await b.docker(["images", "--format", "{{.Repository}}"])).stdout, /busybox/);
    } finally {
      await b?.close();
      await a.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "dockerd stopped cleanly (SIGTERM, its containerd too): containers keep running",
  T,
  async () => {
    const a = await startDockerd({ busybox: true });
    const dir = a.dir;
    let b: Awaited<ReturnType<typeof startDockerd>> | undefined;
    try {
      const run = await a.docker([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "s1",
        "busybox",
        "sleep",
        "60",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const pid = (await a.docker(["inspect", "--format", "{{.State.Pid}}", "s1"])).stdout.trim();
      assert.equal((await a.stop("SIGTERM")).code, 0);
      assert.ok(Deno.statSync(`/proc/${pid}`).isDirectory, "the container outlived dockerd");

      b = await startDockerd({ dir });
      assert.equal(
        (await b.docker(["ps", "--format", "{{.Names}} {{.State}}"])).stdout.trim(),
        "s1 running",
      );
      const exec = await b.docker(["exec", "s1", "echo", "still here"]);
      assert.equal(exec.stdout, "still here\n", exec.stderr);
      assert.equal((await b.docker(["kill", "s1"])).code, 0);
      assert.equal((await b.docker(["wait", "s1"])).stdout.trim(), "137");
    } finally {
      await b?.close();
      await a.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "containerd killed under dockerd: started again, running containers still answer",
  T,
  async () => {
    const d = await startDockerd({ busybox: true });
    try {
      const run = await d.docker([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "w1",
        "busybox",
        "sleep",
        "60",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const pidFile = `${d.dir}/exec/containerd/containerd.pid`;
      const before = Number(Deno.readTextFileSync(pidFile));
      Deno.kill(before, "SIGKILL");
      // dockerd notices within its 2 s check and starts a new one, which re-adopts the task.
      for (let i = 0; i < 100 && Number(Deno.readTextFileSync(pidFile)) === before; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.notEqual(Number(Deno.readTextFileSync(pidFile)), before, "containerd started again");
      const exec = await d.docker(["exec", "w1", "echo", "ok"]);
      assert.equal(exec.stdout, "ok\n", exec.stderr);
      assert.equal((await d.docker(["stop", "-t", "1", "w1"])).code, 0);
      const state = await d.docker([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "w1",
      ]);
      assert.equal(state.stdout.trim(), "exited 137");
    } finally {
      await d.close();
    }
  },
);

/**
 * The container lifecycle through the runtime's command line, as runc
 * documents it: run, create → start → kill → delete, run --detach, list,
 * delete --force, kill --all, pause/resume, ps, state.
 */
import assert from "node:assert/strict";
import { runContainer, shc, T, withContainer } from "./helpers/fixture.ts";
import { describe, waitFor } from "./helpers/runtime.ts";
import type { Ctx } from "./helpers/fixture.ts";

/** A process that stays up and exits 0 on SIGTERM (PID 1 ignores signals it has no handler for). */
const SERVER = shc("trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done");

async function waitStatus(ctx: Ctx, status: string, id = ctx.id): Promise<void> {
  await waitFor(`container ${id} to be ${status}`, async () => {
    const r = await ctx.rt(["state", id]);
    return r.code === 0 && JSON.parse(r.stdout).status === status;
  });
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

Deno.test("run: the exit code of the container's process is the runtime's", T, async (t) => {
  await t.step("true exits 0", async () => {
    const r = await runContainer(["true"]);
    assert.equal(r.code, 0, describe(r));
  });
  await t.step("false exits 1", async () => {
    const r = await runContainer(["false"]);
    assert.equal(r.code, 1, describe(r));
  });
  await t.step("sh -c 'exit 3' exits 3", async () => {
    const r = await runContainer(shc("exit 3"));
    assert.equal(r.code, 3, describe(r));
  });
});

Deno.test("run: stdout and stderr of the container reach the caller separately", T, async () => {
  const r = await runContainer(shc("echo to-out; echo to-err >&2; echo more-out"));
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout, "to-out\nmore-out\n");
  assert.equal(r.stderr, "to-err\n");
});

Deno.test("run: stdin of the runtime is the container's stdin", T, async () => {
  const r = await runContainer(["cat"], { runOpts: { stdin: "line one\nline two\n" } });
  assert.equal(r.code, 0, describe(r));
  assert.equal(r.stdout, "line one\nline two\n");
});

Deno.test("run: a container killed by a signal makes run exit 128+signal", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    const run = ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
    await waitStatus(ctx, "running");
    await ctx.ok(["kill", ctx.id, "KILL"]);
    const r = await run;
    assert.equal(r.code, 137, describe(r));
  });
});

Deno.test("create, start, kill and delete", T, async (t) => {
  for (const signal of ["TERM", "SIGTERM", "15"]) {
    await t.step(`kill with ${signal}`, async () => {
      await withContainer({ args: SERVER }, async (ctx) => {
        const out = `${ctx.bundle.dir}/out.log`;
        const pidFile = `${ctx.bundle.dir}/init.pid`;
        await ctx.ok(["create", "--bundle", ctx.bundle.dir, "--pid-file", pidFile, ctx.id], {
          stdoutFile: out,
        });

        const created = await ctx.state();
        assert.equal(created.status, "created");
        assert.equal(created.id, ctx.id);
        assert.equal(created.bundle, ctx.bundle.dir);
        assert.ok(typeof created.pid === "number" && created.pid > 0, `pid ${created.pid}`);
        assert.equal(Number(Deno.readTextFileSync(pidFile).trim()), created.pid);
        assert.ok(alive(created.pid!), "the init process exists while created");
        // The user's program has not run yet.
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(Deno.readTextFileSync(out), "");

        await ctx.ok(["start", ctx.id]);
        await waitFor("the program's output", () => Deno.readTextFileSync(out) === "ready\n");
        const running = await ctx.state();
        assert.equal(running.status, "running");
        assert.equal(running.pid, created.pid);

        await ctx.ok(["kill", ctx.id, signal]);
        await waitStatus(ctx, "stopped");
        assert.ok(!alive(created.pid!), "the init process is gone");

        await ctx.ok(["delete", ctx.id]);
        const gone = await ctx.rt(["state", ctx.id]);
        assert.notEqual(gone.code, 0, "state after delete must fail");
        assert.match(gone.stderr, /not exist|no such|not found/i);
      });
    });
  }
});

Deno.test("kill without a signal sends SIGTERM", T, async () => {
  await withContainer({ args: SERVER }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    await ctx.ok(["kill", ctx.id]);
    await waitStatus(ctx, "stopped");
    await ctx.ok(["delete", ctx.id]);
  });
});

Deno.test("start of a container that is not created fails", T, async () => {
  await withContainer({ args: SERVER }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    const again = await ctx.rt(["start", ctx.id]);
    assert.notEqual(again.code, 0, describe(again));
    assert.ok(again.stderr.length > 0);
    assert.equal((await ctx.state()).status, "running");
  });
});

Deno.test("delete of a running container without --force fails and keeps it", T, async () => {
  await withContainer({ args: SERVER }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    const r = await ctx.rt(["delete", ctx.id]);
    assert.notEqual(r.code, 0, describe(r));
    assert.match(r.stderr, /running|not stopped/);
    const s = await ctx.state();
    assert.equal(s.status, "running");
    assert.ok(alive(s.pid!));
  });
});

Deno.test("run --detach returns while the container runs", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    const t0 = Date.now();
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id], { timeoutMs: 20_000 });
    assert.ok(Date.now() - t0 < 20_000);
    const s = await ctx.state();
    assert.equal(s.status, "running");
    assert.ok(alive(s.pid!));
    await ctx.ok(["kill", ctx.id, "KILL"]);
    await waitStatus(ctx, "stopped");
    await ctx.ok(["delete", ctx.id]);
  });
});

Deno.test(
  "a container whose process exits by itself is stopped and can be deleted",
  T,
  async () => {
    await withContainer({ args: ["true"] }, async (ctx) => {
      await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
      await waitStatus(ctx, "stopped");
      await ctx.ok(["delete", ctx.id]);
    });
  },
);

Deno.test("delete --force removes a running container", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    const { pid } = await ctx.state();
    await ctx.ok(["delete", "--force", ctx.id]);
    assert.notEqual((await ctx.rt(["state", ctx.id])).code, 0);
    await waitFor("the init to be gone", () => !alive(pid!));
  });
});

Deno.test("delete --force removes a created (never started) container", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    const { pid } = await ctx.state();
    await ctx.ok(["delete", "--force", ctx.id]);
    assert.notEqual((await ctx.rt(["state", ctx.id])).code, 0);
    await waitFor("the init to be gone", () => !alive(pid!));
  });
});

Deno.test("kill --all signals every process of the container", T, async () => {
  const script = "sleep 1000 & sleep 1000 & trap '' TERM; echo up; wait";
  await withContainer({ args: shc(script) }, async (ctx) => {
    const out = `${ctx.bundle.dir}/out.log`;
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id], { stdoutFile: out });
    await waitFor("the container to start", () => Deno.readTextFileSync(out) === "up\n");
    const ps = JSON.parse(await ctx.ok(["ps", "--format", "json", ctx.id])) as number[];
    assert.equal(ps.length, 3, `three processes: ${ps}`);
    await ctx.ok(["kill", "--all", ctx.id, "KILL"]);
    await waitStatus(ctx, "stopped");
    await waitFor("every process to be gone", () => ps.every((p) => !alive(p)));
    await ctx.ok(["delete", ctx.id]);
  });
});

Deno.test("pause freezes the container and resume thaws it", T, async () => {
  const script = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";
  await withContainer({ args: shc(script) }, async (ctx) => {
    const out = `${ctx.bundle.dir}/out.log`;
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id], { stdoutFile: out });
    await waitFor("output", () => Deno.readTextFileSync(out).length > 0);

    await ctx.ok(["pause", ctx.id]);
    assert.equal((await ctx.state()).status, "paused");
    const list = JSON.parse(await ctx.ok(["list", "--format", "json"]));
    assert.equal(list[0].status, "paused");
    await new Promise((r) => setTimeout(r, 100));
    const frozen = Deno.readTextFileSync(out);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(Deno.readTextFileSync(out), frozen, "no output while paused");

    await ctx.ok(["resume", ctx.id]);
    assert.equal((await ctx.state()).status, "running");
    await waitFor("more output", () => Deno.readTextFileSync(out).length > frozen.length);

    // A paused container can be deleted with --force.
    await ctx.ok(["pause", ctx.id]);
    await ctx.ok(["delete", "--force", ctx.id]);
  });
});

Deno.test("resume of a running container fails", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    const r = await ctx.rt(["resume", ctx.id]);
    assert.notEqual(r.code, 0, describe(r));
    assert.equal((await ctx.state()).status, "running");
  });
});

Deno.test("list: table, --format json and -q", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    const empty = await ctx.ok(["list"]);
    assert.match(empty.split("\n")[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\s*$/);
    assert.equal(empty.trim().split("\n").length, 1);
    assert.equal(await ctx.ok(["list", "-q"]), "");

    await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    const { pid } = await ctx.state();
    const table = (await ctx.ok(["list"])).trim().split("\n");
    assert.equal(table.length, 2, table.join("\n"));
    assert.match(table[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\s*$/);
    const cols = table[1].split(/\s+/);
    assert.equal(cols[0], ctx.id);
    assert.equal(cols[1], String(pid));
    assert.equal(cols[2], "created");
    assert.equal(cols[3], ctx.bundle.dir);
    assert.ok(!Number.isNaN(Date.parse(cols[4])), `CREATED ${cols[4]}`);
    assert.equal(cols[5], "root");

    const json = JSON.parse(await ctx.ok(["list", "--format", "json"]));
    assert.equal(json.length, 1);
    assert.equal(json[0].id, ctx.id);
    assert.equal(json[0].pid, pid);
    assert.equal(json[0].status, "created");
    assert.equal(json[0].bundle, ctx.bundle.dir);
    assert.equal(json[0].owner, "root");
    assert.ok(!Number.isNaN(Date.parse(json[0].created)));

    assert.equal(await ctx.ok(["list", "-q"]), `${ctx.id}\n`);
  });
});

Deno.test("ps lists the container's processes; --format json gives host pids", T, async () => {
  await withContainer({ args: shc("sleep 1000 & echo up; wait") }, async (ctx) => {
    const out = `${ctx.bundle.dir}/out.log`;
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id], { stdoutFile: out });
    await waitFor("the container to start", () => Deno.readTextFileSync(out) === "up\n");
    const { pid } = await ctx.state();
    const pids = JSON.parse(await ctx.ok(["ps", "--format", "json", ctx.id])) as number[];
    assert.equal(pids.length, 2, `${pids}`);
    assert.ok(pids.includes(pid!), `${pids} includes the init ${pid}`);
    const table = await ctx.ok(["ps", ctx.id]);
    assert.match(table.split("\n")[0], /PID/);
    assert.match(table, /sleep 1000/);
    for (const p of pids) assert.match(table, new RegExp(`\\b${p}\\b`));
  });
});

Deno.test("state reports the OCI state document", T, async () => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    const s = await ctx.state();
    assert.equal(typeof s.ociVersion, "string");
    assert.equal(s.id, ctx.id);
    assert.equal(s.status, "created");
    assert.equal(s.bundle, ctx.bundle.dir);
  });
});

Deno.test("commands on a container that does not exist fail", T, async (t) => {
  await withContainer({}, async (ctx) => {
    for (const args of [["state"], ["start"], ["kill"], ["delete"], ["pause"], ["ps"]]) {
      await t.step(args[0], async () => {
        const r = await ctx.rt([...args, "nope-does-not-exist"]);
        assert.notEqual(r.code, 0, describe(r));
        assert.match(r.stderr, /not exist|no such|not found/i);
      });
    }
    const r = await ctx.rt(["exec", "nope-does-not-exist", "true"]);
    assert.notEqual(r.code, 0, describe(r));
  });
});

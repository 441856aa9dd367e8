/**
 * Bad input: the runtime exits non-zero, says what is wrong on stderr, and
 * leaves nothing behind (no state, mounts, cgroups or processes).
 */
import assert from "node:assert/strict";
import { type Ctx, T, withContainer } from "./helpers/fixture.ts";
import { describe, type RunResult } from "./helpers/runtime.ts";
import { makeBundle } from "./helpers/bundle.ts";
import { assertNoLeaks, testCgroupDirs } from "./helpers/leaks.ts";

/** Asserts a failed call with an error matching `pattern`, and that no container is listed. */
async function assertRefused(ctx: Ctx, r: RunResult, pattern: RegExp): Promise<void> {
  assert.notEqual(r.code, 0, describe(r));
  assert.match(r.stderr, pattern, describe(r));
  assert.equal(await ctx.ok(["list", "-q"]), "", "no container is left in the state directory");
  await assertNoLeaks([ctx.bundle.dir, ctx.root], ctx.cgroupDirs);
}

Deno.test("a config.json that is not valid JSON", T, async () => {
  await withContainer({ args: ["true"] }, async (ctx) => {
    Deno.writeTextFileSync(ctx.bundle.config, '{"ociVersion": "1.2.0", "process": {bad');
    for (const cmd of ["create", "run"]) {
      const r = await ctx.rt([cmd, "--bundle", ctx.bundle.dir, ctx.id]);
      await assertRefused(ctx, r, /json|invalid character|syntax|parse|unexpected/i);
    }
  });
});

Deno.test("a bundle without config.json", T, async () => {
  await withContainer({ args: ["true"] }, async (ctx) => {
    Deno.removeSync(ctx.bundle.config);
    const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    await assertRefused(ctx, r, /config\.json/);
  });
});

Deno.test("a bundle whose rootfs is missing", T, async () => {
  await withContainer({ args: ["true"] }, async (ctx) => {
    Deno.removeSync(ctx.bundle.rootfs, { recursive: true });
    const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    await assertRefused(ctx, r, /rootfs/);
  });
});

Deno.test("a config without process.args", T, async () => {
  await withContainer({ args: [] }, async (ctx) => {
    const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
    await assertRefused(ctx, r, /args/);
  });
});

Deno.test("a program that does not exist in the rootfs", T, async () => {
  await withContainer({ args: ["/no/such/program"] }, async (ctx) => {
    const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
    assert.notEqual(r.code, 0, describe(r));
    assert.match(r.stderr, /\/no\/such\/program/);
    assert.match(r.stderr, /no such file/i);
  });
});

Deno.test("a relative process.cwd", T, async () => {
  await withContainer({
    args: ["true"],
    mutate: (s) => void (s.process!.cwd = "tmp"),
  }, async (ctx) => {
    const r = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id]);
    await assertRefused(ctx, r, /cwd|absolute/i);
  });
});

Deno.test(
  "a duplicate id: the second create fails and the first container is untouched",
  T,
  async () => {
    await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
      await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
      const first = await ctx.state();
      const other = await makeBundle({ args: ["sleep", "1000"], id: ctx.id });
      try {
        for (const cmd of ["create", "run"]) {
          const r = await ctx.rt([cmd, "--bundle", other.dir, ctx.id]);
          assert.notEqual(r.code, 0, describe(r));
          assert.match(r.stderr, /exists/, describe(r));
        }
        const after = await ctx.state();
        assert.deepEqual(after, first);
        assert.equal(await ctx.ok(["list", "-q"]), `${ctx.id}\n`);
        await ctx.ok(["start", ctx.id]);
        assert.equal((await ctx.state()).status, "running");
        await assertNoLeaks([other.dir]);
      } finally {
        await other.cleanup();
      }
    });
  },
);

Deno.test("invalid container ids are refused", T, async (t) => {
  await withContainer({ args: ["true"] }, async (ctx) => {
    for (const id of ["../x", "a/b", "..", ".", "a b", "x".repeat(1024)]) {
      await t.step(
        JSON.stringify(id.length > 20 ? `${id.slice(0, 10)}…(${id.length})` : id),
        async () => {
          const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, id]);
          assert.notEqual(r.code, 0, describe(r));
          assert.ok(r.stderr.trim().length > 0, "an error message");
          assert.equal(await ctx.ok(["list", "-q"]), "");
        },
      );
    }
    await t.step('""', async () => {
      const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ""]);
      assert.notEqual(r.code, 0, describe(r));
      assert.match(r.stderr, /empty|id/i);
    });
    await t.step("no id at all", async () => {
      const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir]);
      assert.notEqual(r.code, 0, describe(r));
      assert.match(r.stderr, /argument|id/i);
    });
    // Nothing escaped the state directory.
    const parent = ctx.root.slice(0, ctx.root.lastIndexOf("/"));
    assert.ok(!exists(`${parent}/x`));
    assert.ok(!exists(`${ctx.root}/a`));
  });
});

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("kill with an unknown signal fails and the container keeps running", T, async (t) => {
  await withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    for (const sig of ["FOO", "SIGFOO", "99", "-9"]) {
      await t.step(sig, async () => {
        const r = await ctx.rt(["kill", ctx.id, sig]);
        assert.notEqual(r.code, 0, describe(r));
        assert.ok(r.stderr.trim().length > 0);
        if (sig.includes("FOO")) assert.match(r.stderr, new RegExp(sig));
        assert.equal((await ctx.state()).status, "running");
      });
    }
  });
});

Deno.test("a create that fails halfway leaves nothing behind", T, async (t) => {
  const cases: [string, (s: import("../runtime/spec/types.ts").Spec) => void, RegExp][] = [
    [
      "bind mount of a missing source",
      (s) =>
        void s.mounts!.push({
          destination: "/mnt/x",
          type: "bind",
          source: "/nonexistent/berth-test-src",
          options: ["bind"],
        }),
      /nonexistent\/berth-test-src/,
    ],
    [
      "a prestart hook that fails",
      (s) => void (s.hooks = { prestart: [{ path: "/bin/false", args: ["false"] }] }),
      /hook/i,
    ],
    [
      "a seccomp rule for an unknown syscall with an unknown action",
      (s) =>
        void (s.linux!.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_BOGUS" }],
        }),
      /SCMP_ACT_BOGUS|action/i,
    ],
  ];
  for (const [name, mutate, pattern] of cases) {
    await t.step(name, async () => {
      await withContainer({ args: ["sleep", "1000"], mutate }, async (ctx) => {
        const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id]);
        await assertRefused(ctx, r, pattern);
        for (const dir of testCgroupDirs(ctx.id)) assert.ok(!exists(dir), `${dir} removed`);
      });
    });
  }
});

Deno.test("an unknown command and an unknown flag are usage errors", T, async () => {
  await withContainer({}, async (ctx) => {
    const r1 = await ctx.rt(["frobnicate"]);
    assert.notEqual(r1.code, 0, describe(r1));
    assert.match(r1.stdout + r1.stderr, /frobnicate/);
    const r2 = await ctx.rt(["create", "--no-such-flag", ctx.id]);
    assert.notEqual(r2.code, 0, describe(r2));
    assert.match(r2.stdout + r2.stderr, /no-such-flag/);
  });
});

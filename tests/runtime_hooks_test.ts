/**
 * OCI hooks: each runs at its point of the lifecycle with the container's
 * state JSON on stdin. Host hooks (prestart, createRuntime, poststart,
 * poststop) write it into a host directory; container hooks
 * (createContainer, startContainer) run inside the container and write into
 * a bind mount of that directory.
 */
import assert from "node:assert/strict";
import { T, withContainer } from "./helpers/fixture.ts";
import { describe, readText, waitFor } from "./helpers/runtime.ts";
import type { Hook } from "../runtime/spec/types.ts";

const HOST_HOOKS = ["prestart", "createRuntime", "poststart", "poststop"] as const;
const CONTAINER_HOOKS = ["createContainer", "startContainer"] as const;

function hostHook(dir: string, name: string): Hook {
  return {
    path: "/bin/sh",
    args: ["sh", "-c", `cat > ${dir}/${name}.json; echo "$HOOK_ENV" > ${dir}/${name}.env`],
    env: [`HOOK_ENV=${name}-env`, "PATH=/usr/bin:/bin"],
  };
}

/**
 * A hook run in the container's namespaces. createContainer runs before
 * pivot_root (its path resolves in the runtime's mount namespace, so the host
 * directory is reachable at its host path); startContainer runs after it
 * (its path resolves in the container, where the directory is /hooks).
 */
function containerHook(name: string, dir: string): Hook {
  return {
    path: "/bin/sh",
    args: ["sh", "-c", `cat > ${dir}/${name}.json; hostname > ${dir}/${name}.hostname`],
  };
}

Deno.test("hooks run in order with the state on stdin", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-hooks-" });
  try {
    await withContainer({
      args: ["sh", "-c", "echo started > /hooks/process; sleep 1000"],
      mutate: (s) => {
        s.hostname = "hooked";
        s.mounts!.push({ destination: "/hooks", type: "bind", source: dir, options: ["bind"] });
        s.hooks = {};
        for (const h of HOST_HOOKS) s.hooks[h] = [hostHook(dir, h)];
        s.hooks.createContainer = [containerHook("createContainer", dir)];
        s.hooks.startContainer = [containerHook("startContainer", "/hooks")];
      },
    }, async (ctx) => {
      await ctx.ok(["create", "--bundle", ctx.bundle.dir, ctx.id]);
      const { pid } = await ctx.state();
      for (const h of ["prestart", "createRuntime", "createContainer"]) {
        assert.ok(readText(`${dir}/${h}.json`), `${h} ran at create`);
      }
      for (const h of ["startContainer", "poststart", "poststop"]) {
        assert.equal(readText(`${dir}/${h}.json`), "", `${h} has not run before start`);
      }

      await ctx.ok(["start", ctx.id]);
      await waitFor("the process to start", () => readText(`${dir}/process`) === "started\n");
      await waitFor("poststart", () => readText(`${dir}/poststart.json`));
      assert.ok(readText(`${dir}/startContainer.json`), "startContainer ran at start");
      assert.equal(readText(`${dir}/poststop.json`), "");

      await ctx.ok(["kill", ctx.id, "KILL"]);
      await waitFor("the container to stop", async () => (await ctx.state()).status === "stopped");
      await ctx.ok(["delete", ctx.id]);
      assert.ok(readText(`${dir}/poststop.json`), "poststop ran at delete");

      const states: Record<string, { id: string; status: string; pid?: number; bundle: string }> =
        {};
      for (const h of [...HOST_HOOKS, ...CONTAINER_HOOKS]) {
        const text = readText(`${dir}/${h}.json`);
        states[h] = JSON.parse(text);
        assert.equal(states[h].id, ctx.id, `${h}: ${text}`);
        assert.equal(states[h].bundle, ctx.bundle.dir, `${h}: ${text}`);
      }
      for (const h of ["prestart", "createRuntime", "createContainer"]) {
        assert.equal(states[h].status, "creating", h);
        assert.equal(states[h].pid, pid, h);
      }
      assert.equal(states.startContainer.status, "created");
      assert.equal(states.poststart.status, "running");
      assert.equal(states.poststop.status, "stopped");

      for (const h of HOST_HOOKS) assert.equal(readText(`${dir}/${h}.env`), `${h}-env\n`, h);
      // Container hooks run in the container's namespaces.
      for (const h of CONTAINER_HOOKS) assert.equal(readText(`${dir}/${h}.hostname`), "hooked\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a poststart hook that fails makes run fail", T, async () => {
  await withContainer({
    args: ["sleep", "1000"],
    mutate: (s) => void (s.hooks = { poststart: [{ path: "/bin/false" }] }),
  }, async (ctx) => {
    const r = await ctx.rt(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    assert.notEqual(r.code, 0, describe(r));
    assert.match(r.stderr, /hook/i);
  });
});

Deno.test("a hook that exceeds its timeout is killed and the create fails", T, async () => {
  await withContainer({
    args: ["true"],
    mutate: (s) =>
      void (s.hooks = {
        createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }],
      }),
  }, async (ctx) => {
    const t0 = Date.now();
    const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0, describe(r));
    assert.ok(Date.now() - t0 < 15_000, "the hook was killed at its timeout");
    assert.match(r.stderr, /timed out|timeout|deadline/i);
    assert.equal(await ctx.ok(["list", "-q"]), "");
  });
});

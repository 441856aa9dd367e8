/**
 * The usual shape of a runtime test: a state directory, a bundle and a
 * container id; run the test; force-delete whatever is left; check that
 * nothing remains on the host; remove everything, even when the test failed.
 */
import assert from "node:assert/strict";
import { type Bundle, type BundleOptions, makeBundle, uniqueId } from "./bundle.ts";
import { assertNoLeaks, forceCleanup, removeTestCgroupParents, testCgroupDirs } from "./leaks.ts";
import {
  deleteAll,
  describe,
  runc,
  type RuncOptions,
  type RunResult,
  withRoot,
} from "./runtime.ts";
import type { State } from "../../runtime/spec/types.ts";

export interface Ctx {
  root: string;
  bundle: Bundle;
  /** The container id made for this test. */
  id: string;
  /** Calls the runtime with this test's `--root`. */
  rt(args: string[], opts?: Omit<RuncOptions, "root">): Promise<RunResult>;
  /** Like rt, but asserts exit code 0 and returns stdout. */
  ok(args: string[], opts?: Omit<RuncOptions, "root">): Promise<string>;
  /** `state ID` parsed. */
  state(id?: string): Promise<State>;
  /** Host cgroup directories to check for leaks (add the ones a test discovers). */
  cgroupDirs: string[];
}

export interface FixtureOptions extends BundleOptions {
  /** Skip the final leak check (the cleanup still runs). */
  noLeakCheck?: boolean;
  /** Use this runtime command line instead of the one under test. */
  argv?: string[];
}

/** Runs `fn` with a fresh root, bundle and id; see the module comment. */
export async function withContainer(
  opts: FixtureOptions,
  fn: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const id = opts.id ?? uniqueId();
  await withRoot(async (root) => {
    const bundle = await makeBundle({ ...opts, id });
    const rt = (args: string[], o: Omit<RuncOptions, "root"> = {}) =>
      runc(args, { argv: opts.argv, ...o, root });
    const ctx: Ctx = {
      root,
      bundle,
      id,
      rt,
      ok: async (args, o) => {
        const r = await rt(args, o);
        assert.equal(r.code, 0, `runc ${args.join(" ")}: ${describe(r)}`);
        return r.stdout;
      },
      state: async (cid = id) => {
        const r = await rt(["state", cid]);
        assert.equal(r.code, 0, `runc state ${cid}: ${describe(r)}`);
        return JSON.parse(r.stdout);
      },
      cgroupDirs: testCgroupDirs(id),
    };
    const markers = [bundle.dir, root];
    let failed = true;
    try {
      await fn(ctx);
      failed = false;
    } finally {
      await deleteAll(root, opts.argv).catch(() => {});
      try {
        if (!failed && !opts.noLeakCheck) await assertNoLeaks(markers, ctx.cgroupDirs);
      } finally {
        await forceCleanup(markers, ctx.cgroupDirs);
        removeTestCgroupParents();
        await bundle.cleanup();
      }
    }
  }, opts.argv);
}

/**
 * `run --bundle B ID` of a bundle with `args` (and `mutate`), in the
 * foreground; returns the runtime's result (the container's exit code and
 * output).
 */
export async function runContainer(
  args: string[],
  opts: FixtureOptions & { runOpts?: Omit<RuncOptions, "root"> } = {},
): Promise<RunResult> {
  let result: RunResult | undefined;
  await withContainer({ ...opts, args }, async (ctx) => {
    result = await ctx.rt(["run", "--bundle", ctx.bundle.dir, ctx.id], opts.runOpts);
  });
  return result!;
}

/** Like {@link runContainer}, but asserts exit code 0 and returns stdout. */
export async function runOk(args: string[], opts: FixtureOptions = {}): Promise<string> {
  const r = await runContainer(args, opts);
  assert.equal(r.code, 0, `run ${args.join(" ")}: ${describe(r)}`);
  return r.stdout;
}

/** `sh -c SCRIPT` as process.args. */
export function shc(script: string): string[] {
  return ["sh", "-c", script];
}

/** Test options for tests that spawn processes and containers. */
export const T = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false } as const;

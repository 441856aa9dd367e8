import assert from "node:assert/strict";
import { awaitedChildren, OUTPUT_LIMIT, runProgram, spawnChild } from "./spawn.ts";

const SH = "/bin/sh";
const T = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test("runProgram: argv[0] and the environment are exactly the given ones", T, async () => {
  const r = await runProgram(SH, ["libnetwork-setkey", "-c", 'echo "$0"; env'], ["ONLY=this"]);
  assert.equal(r.code, 0, r.stderr);
  const [argv0, ...env] = r.stdout.trim().split("\n");
  assert.equal(argv0, "libnetwork-setkey");
  // sh adds PWD (and may add SHLVL); nothing of the caller's environment is there.
  assert.deepEqual(env.filter((l) => !/^(PWD|SHLVL|_)=/.test(l)), ["ONLY=this"]);
});

Deno.test("runProgram: stdin is fed in full, also beyond a pipe's buffer", T, async () => {
  const input = new Uint8Array(1 << 20).fill(0x61);
  const r = await runProgram(SH, ["sh", "-c", "wc -c"], [], { stdin: input });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), String(input.length));
});

Deno.test("runProgram: a program that does not read stdin, and large output", T, async () => {
  const input = new Uint8Array(1 << 20);
  const r = await runProgram(
    SH,
    ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo end >&2; exit 7"],
    [],
    { stdin: input },
  );
  assert.equal(r.code, 7);
  assert.equal(r.stdout.length, OUTPUT_LIMIT, "only the tail is kept");
  assert.equal(r.stderr, "end\n");
});

Deno.test("runProgram: killed at its timeout; a signal shows as 128 + signal", T, async () => {
  const r = await runProgram(SH, ["sh", "-c", "exec sleep 30"], [], { timeoutMs: 200 });
  assert.equal(r.timedOut, true);
  assert.equal(r.code, 137);
  assert.equal(r.signal, 9);
  assert.equal(awaitedChildren.size, 0);
});

Deno.test("runProgram: a descendant that keeps the output open is not waited for", T, async () => {
  const r = await runProgram(SH, ["sh", "-c", "sleep 30 & echo $!"], []);
  assert.equal(r.code, 0);
  const orphan = Number(r.stdout.trim());
  assert.ok(orphan > 0, r.stdout);
  Deno.kill(orphan, "SIGKILL");
});

Deno.test("runProgram: a program that cannot be run is an error naming it", async () => {
  await assert.rejects(
    () => runProgram("/no/such/program", ["x"], []),
    /posix_spawn \/no\/such\/program: .*ENOENT/,
  );
});

Deno.test("spawnChild: exit code, argv[0], env and /dev/null stdio", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-spawn-" });
  try {
    const child = spawnChild(
      SH,
      ["my-name", "-c", `echo "$0 $ONLY" > ${dir}/out; cat; exit 3`],
      ["ONLY=this"],
      { stdio: { stdin: "null", stdout: "null", stderr: "inherit" } },
    );
    assert.ok(awaitedChildren.has(child.pid));
    const status = await child.status;
    assert.deepEqual(status, { success: false, code: 3, signal: null });
    assert.equal(await Deno.readTextFile(`${dir}/out`), "my-name this\n");
    assert.ok(!awaitedChildren.has(child.pid), "reaped and forgotten");
    assert.throws(() => child.kill("SIGKILL"), /already terminated/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawnChild: kill goes to the child, whose status shows the signal", T, async () => {
  const child = spawnChild(SH, ["sh", "-c", "exec sleep 30"], [], {
    stdio: { stdin: "null", stdout: "null", stderr: "null" },
    cwd: "/",
  });
  child.kill("SIGKILL");
  assert.deepEqual(await child.status, { success: false, code: 137, signal: "SIGKILL" });
});

Deno.test("spawnChild: the working directory and default signal actions", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-spawn-" });
  try {
    // SIGPIPE is ignored in Deno; the child gets it back at its default action.
    const child = spawnChild(
      SH,
      ["sh", "-c", `pwd > ${dir}/pwd; grep SigIgn /proc/self/status > ${dir}/sig`],
      [],
      { stdio: { stdin: "null", stdout: "null", stderr: "null" }, cwd: "/tmp" },
    );
    assert.equal((await child.status).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/pwd`), "/tmp\n");
    const ignored = BigInt("0x" + (await Deno.readTextFile(`${dir}/sig`)).split(/\s+/)[1]);
    assert.equal(ignored & (1n << 12n), 0n, "SIGPIPE (13) not ignored");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

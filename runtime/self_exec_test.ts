import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function berth(args: string[], opts: { argv0?: string } = {}) {
  const cmd = opts.argv0
    ? new Deno.Command("bash", {
      args: ["-c", `exec -a ${opts.argv0} "$0" "$@"`, Deno.execPath(), "run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("no role: usage on stderr, exit 2", async () => {
  const r = await berth([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: berth ROLE/);
  assert.match(r.stderr, /runc\s+the OCI runtime/);
});

Deno.test("unknown role: usage, exit 2", async () => {
  const r = await berth(["nosuchrole", "x"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: berth ROLE/);
});

Deno.test("role from the first argument under deno run", async () => {
  const r = await berth(["runc", "--version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^berth-runc version \S+\nspec: 1\.2\.0/);
});

Deno.test("under deno run, argv[0] is deno's: a role name there does not pick the role", async () => {
  // argv[0] only decides for a compiled binary; here the first argument still does.
  const r = await berth(["runc", "--version"], { argv0: "dockerd" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /berth-runc version/);
});

Deno.test("selfCommand re-runs this program with the same flags in another role", async () => {
  // A script that imports self_exec.ts: selfCommand must start berth's main.ts with the same
  // deno flags, not the script.
  const script = `
    import { selfCommand, isCompiled } from ${
    JSON.stringify(new URL("./self_exec.ts", import.meta.url).href)
  };
    if (Deno.args[0] === "runc") {
      console.log("child:" + Deno.args.join(" "));
    } else {
      const c = selfCommand("runc", ["--version"]);
      console.log(JSON.stringify({ compiled: isCompiled(), c }));
      const out = new Deno.Command(c.command, { args: c.args, stdout: "piped" }).outputSync();
      console.log(new TextDecoder().decode(out.stdout));
    }
  `;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", file, "extra-arg"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const [first, ...rest] = new TextDecoder().decode(out.stdout).split("\n");
    const { compiled, c } = JSON.parse(first);
    assert.equal(compiled, false);
    assert.equal(c.command, Deno.execPath());
    // berth's own main.ts, never the importing script (that would start itself again).
    const main = new URL("../main.ts", import.meta.url).pathname;
    assert.deepEqual(c.args, ["run", "-A", "--no-config", main, "runc", "--version"]);
    assert.match(rest[0], /^berth-runc version /);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("deno task compile builds the single binary or says why it cannot", async () => {
  // deno compile needs the denort runtime; without network it must come from DENORT_BIN.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { DENORT_BIN: "/nonexistent/denort" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0);
  assert.match(err, /denort|DENORT_BIN|nonexistent/i);
});

/**
 * berth's `docker` client against a complete engine (Debian's dockerd
 * 20.10), side by side with the real Docker CLI: the same commands on twin
 * containers (named r-* for the real CLI, b-* for ours) must print the same
 * (ids, names and times normalized) and end with the same status. This runs
 * every command end to end while berth's own dockerd is still gaining routes.
 */
import assert from "node:assert/strict";
import {
  type RealDockerd,
  realDockerdAvailable,
  startRealDockerd,
} from "./helpers/real_dockerd.ts";
import { T } from "./helpers/fixture.ts";
import type { CliResult } from "./helpers/dockerd.ts";

const ignore = !realDockerdAvailable();

/** Ids, the twin prefix and clock-dependent words made comparable. */
function norm(s: string): string {
  return s
    .replace(/\b[0-9a-f]{64}\b/g, "<ID>")
    .replace(/\b[0-9a-f]{12}\b/g, "<id>")
    .replace(/\b[rb]-/g, "X-")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, "<time>")
    .replace(/(Less than a second|\d+ seconds?|About a minute) ago/g, "<ago>")
    .replace(/Up (Less than a second|\d+ seconds?|About a minute)/g, "Up <t>")
    .replace(/Exited \((\d+)\) (Less than a second|\d+ seconds?) ago/g, "Exited ($1) <ago>")
    // Column widths follow those clock-dependent words.
    .replace(/ {2,}/g, "  ");
}

type Args = (p: string) => string[];

/** Runs `args` (given the twin prefix) with both clients and compares. */
async function twin(
  d: RealDockerd,
  args: Args,
  opts: { stdin?: string; only?: "stdout" | "code"; anyOrder?: boolean } = {},
): Promise<[CliResult, CliResult]> {
  const theirs = await d.docker(args("r-"), opts);
  const ours = await d.berth(args("b-"), opts);
  const what = args("X-").join(" ");
  assert.equal(ours.code, theirs.code, `status of ${what}: ${ours.stderr} / ${theirs.stderr}`);
  // The CLI walks Go maps (an image's tags) in random order: anyOrder compares sorted lines.
  const lines = (t: string) => opts.anyOrder ? norm(t).split("\n").sort().join("\n") : norm(t);
  if (opts.only !== "code") {
    assert.equal(lines(ours.stdout), lines(theirs.stdout), `stdout of ${what}`);
  }
  if (!opts.only) assert.equal(norm(ours.stderr), norm(theirs.stderr), `stderr of ${what}`);
  return [theirs, ours];
}

Deno.test({ name: "run: output, exit statuses, options, stdin", ignore, ...T }, async () => {
  const d = await startRealDockerd();
  try {
    await twin(d, () => ["run", "--rm", "busybox", "echo", "hello"]);
    await twin(d, () => ["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    await twin(d, () => ["run", "--rm", "busybox", "nope"]);
    await twin(d, () => ["run", "--rm", "busybox", "/etc"]);
    await twin(
      d,
      () => [
        "run",
        "--rm",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "65534",
        "busybox",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -u)",
      ],
    );
    await twin(d, () => ["run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint"]);
    await twin(d, () => ["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    await twin(d, () => ["run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev"], {
      only: "code",
    });
    await twin(d, () => ["run", "--rm", "-i", "busybox", "wc", "-c"], { stdin: "hello stdin\n" });
    await twin(
      d,
      () => ["run", "--rm", "-a", "stderr", "busybox", "sh", "-c", "echo o; echo e >&2"],
    );
    await twin(
      d,
      (
        p,
      ) => [
        "run",
        "--name",
        `${p}named`,
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "--cap-drop",
        "ALL",
        "--restart",
        "no",
        "busybox",
        "true",
      ],
    );
    await twin(d, (p) => [
      "inspect",
      "--format",
      "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.CapDrop}} {{.State.ExitCode}} {{.Name}}",
      `${p}named`,
    ]);
    await twin(d, (p) => ["run", "--name", `${p}named`, "busybox", "true"]);
    await twin(d, () => ["run", "--rm", "nosuchimage:latest"], { only: "code" });
    await twin(d, () => ["run", "-it", "busybox"]);
  } finally {
    await d.close();
  }
});

Deno.test({
  name: "detached life cycle: logs, ps, top, exec, stop, start, restart, kill, wait, rm",
  ignore,
  ...T,
}, async () => {
  const d = await startRealDockerd();
  try {
    const script =
      "echo started; trap 'echo got TERM; exit 7' TERM; while true; do sleep 0.1; done";
    const [r, b] = await twin(
      d,
      (p) => ["run", "-d", "--name", `${p}svc`, "busybox", "sh", "-c", script],
    );
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.match(b.stdout, /^[0-9a-f]{64}\n$/);
    await new Promise((res) => setTimeout(res, 500));
    await twin(d, (p) => ["logs", `${p}svc`]);
    await twin(d, (p) => ["logs", "--tail", "1", "-t", `${p}svc`], { only: "code" });
    await twin(
      d,
      (
        p,
      ) => [
        "ps",
        "--filter",
        `name=${p}svc`,
        "--format",
        "{{.Names}} {{.Image}} {{.Command}} {{.State}}",
      ],
    );
    await twin(d, (p) => ["ps", "-a", "--filter", `name=${p}svc`]);
    await twin(d, (p) => ["top", `${p}svc`], { only: "code" });
    await twin(d, (p) => ["exec", `${p}svc`, "sh", "-c", "echo in exec; exit 5"]);
    await twin(d, (p) => ["exec", "-i", `${p}svc`, "cat"], { stdin: "piped to exec\n" });
    await twin(
      d,
      (p) => ["exec", "-e", "X=y", "-w", "/tmp", `${p}svc`, "sh", "-c", "echo $X $(pwd)"],
    );
    await twin(d, (p) => ["exec", `${p}svc`, "nope"]);
    await twin(d, (p) => ["exec", "-d", `${p}svc`, "sleep", "1"]);
    await twin(d, (p) => ["pause", `${p}svc`]);
    await twin(d, (p) => ["ps", "--filter", `name=${p}svc`, "--format", "{{.Status}}"]);
    await twin(d, (p) => ["exec", `${p}svc`, "true"]);
    await twin(d, (p) => ["unpause", `${p}svc`]);
    await twin(d, (p) => ["stop", "-t", "5", `${p}svc`]);
    await twin(d, (p) => ["wait", `${p}svc`]);
    await twin(d, (p) => ["logs", `${p}svc`]);
    await twin(d, (p) => ["start", `${p}svc`]);
    await twin(d, (p) => ["restart", "-t", "1", `${p}svc`]);
    await twin(d, (p) => ["kill", "-s", "TERM", `${p}svc`]);
    await twin(d, (p) => ["wait", `${p}svc`]);
    await twin(d, (p) => ["attach", `${p}svc`]);
    await twin(d, (p) => ["exec", `${p}svc`, "true"]);
    await twin(d, (p) => ["rename", `${p}svc`, `${p}svc2`]);
    await twin(d, (p) => ["rm", `${p}svc`]);
    await twin(d, (p) => ["rm", `${p}svc2`]);
    await twin(d, (p) => ["rm", `${p}svc2`]);
  } finally {
    await d.close();
  }
});

Deno.test({
  name: "create and start -a, attach to a running container, start -ai with stdin",
  ignore,
  ...T,
}, async () => {
  const d = await startRealDockerd();
  try {
    await twin(
      d,
      (p) => ["create", "--name", `${p}c`, "busybox", "sh", "-c", "echo from create; exit 4"],
    );
    await twin(d, (p) => ["start", "-a", `${p}c`]);
    await twin(d, (p) => ["create", "-i", "--name", `${p}ci`, "busybox", "tr", "a-z", "A-Z"]);
    await twin(d, (p) => ["start", "-ai", `${p}ci`], { stdin: "shout\n" });
    await twin(
      d,
      (
        p,
      ) => ["run", "-d", "--name", `${p}att`, "busybox", "sh", "-c", "sleep 1; echo late; exit 2"],
    );
    await twin(d, (p) => ["attach", `${p}att`]);
  } finally {
    await d.close();
  }
});

Deno.test({
  name: "cp both ways, images, tag, rmi, save and load, inspect, df, events, prune",
  ignore,
  ...T,
}, async () => {
  const d = await startRealDockerd();
  const tmp = await Deno.makeTempDir({ prefix: "berth-test-cp-" });
  try {
    Deno.mkdirSync(`${tmp}/src/sub`, { recursive: true });
    Deno.writeTextFileSync(`${tmp}/src/a.txt`, "alpha");
    Deno.writeTextFileSync(`${tmp}/src/sub/b.txt`, "beta");
    await twin(d, (p) => ["run", "-d", "--name", `${p}cp`, "busybox", "sleep", "60"]);
    await twin(d, (p) => ["cp", `${tmp}/src`, `${p}cp:/tmp`]);
    await twin(d, (p) => ["exec", `${p}cp`, "sh", "-c", "cat /tmp/src/a.txt /tmp/src/sub/b.txt"]);
    await twin(d, (p) => ["cp", `${tmp}/src/a.txt`, `${p}cp:/tmp/renamed.txt`]);
    await twin(d, (p) => ["exec", `${p}cp`, "cat", "/tmp/renamed.txt"]);
    for (const p of ["r-", "b-"]) Deno.mkdirSync(`${tmp}/${p}out`);
    await twin(d, (p) => ["cp", `${p}cp:/tmp/src`, `${tmp}/${p}out`]);
    await twin(d, (p) => ["cp", `${p}cp:/etc/passwd`, `${tmp}/${p}out/pw`]);
    for (const f of ["src/a.txt", "src/sub/b.txt", "pw"]) {
      assert.equal(
        Deno.readTextFileSync(`${tmp}/b-out/${f}`),
        Deno.readTextFileSync(`${tmp}/r-out/${f}`),
        f,
      );
    }
    await twin(d, (p) => ["cp", `${p}cp:/nope`, `${tmp}/${p}out`]);
    await twin(d, (p) => ["cp", `${tmp}/nope`, `${p}cp:/tmp`]);

    await twin(d, () => ["images"]);
    await twin(d, () => ["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]);
    await twin(d, (p) => ["tag", "busybox", `${p}tagged:v1`]);
    await twin(d, () => ["images", "--format", "{{.Repository}}:{{.Tag}}"], { anyOrder: true });
    await twin(d, (p) => ["save", "-o", `${tmp}/${p}img.tar`, `${p}tagged:v1`]);
    await twin(d, (p) => ["rmi", `${p}tagged:v1`]);
    await twin(d, (p) => ["rmi", `${p}tagged:v1`]);
    await twin(d, (p) => ["load", "-i", `${tmp}/${p}img.tar`]);
    await twin(
      d,
      (p) => ["image", "inspect", "--format", "{{.RepoTags}} {{.Os}}", `${p}tagged:v1`],
    );
    await twin(d, () => ["inspect", "--format", "{{.Config.Cmd}} {{.Config.Env}}", "busybox"]);
    await twin(d, (p) => ["inspect", "--format", "{{.State.Status}} {{.Config.Cmd}}", `${p}cp`]);
    await twin(d, () => ["inspect", "nosuchthing"]);
    await twin(d, () => ["system", "df"], { only: "code" });
    await twin(d, (p) => ["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", `${p}cp`]);
    const since = Math.floor(Date.now() / 1000) - 120;
    const until = since + 121;
    await twin(d, (p) => [
      "events",
      "--since",
      String(since),
      "--until",
      String(until),
      "--filter",
      `container=${p}cp`,
      "--format",
      "{{.Type}} {{.Action}}",
    ]);
    await twin(d, (p) => ["stop", "-t", "0", `${p}cp`]);
    const [, ours] = await twin(d, () => ["container", "prune", "-f"], { only: "code" });
    assert.match(ours.stdout, /Total reclaimed space/);
    await twin(d, () => ["ps", "-a", "-q"]);
    await twin(
      d,
      () => [
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.ApiVersion}}",
      ],
    );
    await twin(d, () => ["info", "--format", "{{.Driver}} {{.OSType}}"]);
  } finally {
    await d.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

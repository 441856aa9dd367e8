/**
 * berth's `docker` client and the real Docker CLI against berth's dockerd,
 * side by side: container records kept in the data root are listed,
 * inspected, renamed and removed; both clients must print the same and end
 * the same. Mutating commands run in lockstep on two identically seeded
 * daemons (one per client).
 */
import assert from "node:assert/strict";
import { type Dockerd, startDockerd } from "./helpers/dockerd.ts";
import { runBerthDocker } from "./helpers/cli.ts";
import { T } from "./helpers/fixture.ts";
import { exitedRecord } from "./helpers/records.ts";
import type { ContainerRecord } from "../daemon/containers/store.ts";

function record(id: string, name: string, exitCode: number, ago: number): ContainerRecord {
  return exitedRecord(id, name, {
    exitCode,
    agoMs: ago,
    Args: ["-c", "exit " + exitCode],
    Config: { Image: "busybox", Labels: { team: "berth", "com.example.tier": "db" }, Cmd: ["sh"] },
    Image: "sha256:" + "ab".repeat(32),
  });
}

async function seeded(): Promise<Dockerd> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
  const seeds = [
    ["a1".repeat(32), "first", 0, 150_000],
    ["b2".repeat(32), "second", 3, 3 * 3600_000],
    ["c3".repeat(32), "third", 137, 5 * 86400_000],
  ] as const;
  for (const [id, name, code, ago] of seeds) {
    Deno.mkdirSync(`${dir}/data/containers/${id}`, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/data/containers/${id}/config.v2.json`,
      JSON.stringify(record(id, name, code, ago)),
    );
  }
  return await startDockerd({ dir });
}

async function both(d: Dockerd, args: string[], d2: Dockerd = d) {
  const theirs = await d.docker(args);
  const ours = await runBerthDocker(["-H", d2.host, ...args], d2.dir);
  const what = args.join(" ");
  assert.equal(ours.stdout, theirs.stdout, `stdout of ${what}`);
  assert.equal(ours.stderr, theirs.stderr, `stderr of ${what}`);
  assert.equal(ours.code, theirs.code, `status of ${what}`);
  return ours;
}

Deno.test("ps, inspect and errors against berth's dockerd match the real CLI", T, async () => {
  const d = await seeded();
  try {
    for (
      const args of [
        ["ps"],
        ["ps", "-a"],
        ["ps", "-aq"],
        ["ps", "-a", "--no-trunc"],
        ["ps", "-n", "2"],
        ["ps", "-l", "--format", "{{.Names}}"],
        ["ps", "-a", "--filter", "exited=3"],
        ["ps", "-a", "--filter", "label=team=berth", "--format", "table {{.Names}}\t{{.Labels}}"],
        ["ps", "-a", "--format", '{{.Names}} {{.Label "com.example.tier"}} {{.State}} {{.Status}}'],
        ["ps", "-a", "--format", "json"],
        ["ps", "--filter", "bogus=1"],
        ["inspect", "first"],
        [
          "inspect",
          "--format",
          "{{.Name}} {{.State.ExitCode}} {{json .Config.Labels}}",
          "b2b2",
          "third",
        ],
        ["inspect", "--format", "{{.State.Status}}|{{.HostConfig.NetworkMode}}", "first"],
        ["container", "inspect", "nope"],
        ["inspect", "nope"],
        ["inspect", "--type", "container", "-s", "first"],
        ["container", "ls", "-a", "-q", "--no-trunc"],
      ]
    ) await both(d, args);
  } finally {
    await d.close();
    await Deno.remove(d.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("rename and rm against berth's dockerd, in lockstep with the real CLI", T, async () => {
  const real = await seeded();
  const ours = await seeded();
  try {
    for (
      const args of [
        ["rename", "first", "renamed"],
        ["rename", "renamed", "second"],
        ["rename", "nope", "x"],
        ["rm", "renamed", "nope"],
        ["rm", "-f", "nope", "third"],
        ["ps", "-a", "--format", "{{.Names}}"],
        ["rm"],
      ]
    ) await both(real, args, ours);
  } finally {
    for (const d of [real, ours]) {
      await d.close();
      await Deno.remove(d.dir, { recursive: true }).catch(() => {});
    }
  }
});

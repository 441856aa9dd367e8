/**
 * Docker's SDKs against berth's dockerd: Debian's python3-docker (docker-py)
 * and dockerode (npm) each run their own scenario (tests/sdk/) on one
 * daemon. They exercise what the CLI does not: docker-py's /v1.41/ and
 * /v1.43/ paths, "True" query booleans, exec start bodies sent with the
 * upgrade, chunked archive uploads; dockerode's attach and exec without a
 * hijack (output as the response body) and its demuxStream.
 */
import assert from "node:assert/strict";
import { startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";
import { REPO } from "./helpers/runtime.ts";

/** Debian's interpreter: python3-docker is installed for it, not for others on PATH. */
const PYTHON = "/usr/bin/python3";

async function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const td = new TextDecoder();
  return { code: out.code, output: td.decode(out.stdout) + td.decode(out.stderr) };
}

Deno.test("SDKs: docker-py and dockerode scenarios against dockerd", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    const py = await run(PYTHON, [`${REPO}/tests/sdk/python_scenario.py`, d.host]);
    assert.equal(py.code, 0, `python scenario failed:\n${py.output}\ndockerd:\n${d.log()}`);
    assert.match(py.output, /python scenario passed/);

    const node = await run(Deno.execPath(), [
      "run",
      "-A",
      `${REPO}/tests/sdk/dockerode_scenario.mjs`,
      d.socket,
    ]);
    assert.equal(node.code, 0, `dockerode scenario failed:\n${node.output}\ndockerd:\n${d.log()}`);
    assert.match(node.output, /dockerode scenario passed/);
  } finally {
    await d.close();
  }
});

/** containerd as a daemon: its flags, socket permissions, a live socket never taken over. */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { REPO } from "./helpers/runtime.ts";

const td = new TextDecoder();

function containerd(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/main.ts`, "containerd", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("containerd: flags, a 0600 socket, no second daemon, clean SIGTERM", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-ctrd-" });
  const sock = `${dir}/c.sock`;
  const args = ["--address", sock, "--root", `${dir}/root`, "--state", `${dir}/state`];
  const daemon = containerd([...args, "--log-level", "warn"]).spawn();
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        (await Deno.connect({ transport: "unix", path: sock })).close();
        break;
      } catch {
        assert.ok(Date.now() < deadline, "containerd did not listen");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const st = Deno.statSync(sock);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(st.uid, 0);

    const second = await containerd(args).output();
    assert.equal(second.code, 1);
    assert.match(td.decode(second.stderr), /already listening/);

    const bad = await containerd(["--no-such-flag"]).output();
    assert.equal(bad.code, 2);
    assert.match(td.decode(bad.stderr), /no-such-flag/);

    daemon.kill("SIGTERM");
    assert.equal((await daemon.status).code, 0);
    assert.throws(() => Deno.lstatSync(sock), Deno.errors.NotFound);
  } finally {
    try {
      daemon.kill("SIGKILL");
    } catch { /* exited */ }
    await daemon.output().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A real peer drives berth's runtime: Debian's containerd 1.6 on a temporary
 * socket and root, an image built here from busybox-static with umoci and
 * imported with `ctr`, then `ctr run --runc-binary <berth>`: to completion,
 * with a TTY, and killed by `ctr task kill`.
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { REPO } from "./helpers/runtime.ts";

const td = new TextDecoder();
const haveContainerd = (() => {
  try {
    Deno.statSync("/usr/bin/containerd");
    Deno.statSync("/usr/bin/umoci");
    return true;
  } catch {
    return false;
  }
})();

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(cmd: string, args: string[], cwd?: string): Promise<Out> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

async function must(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await sh(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** An OCI layout of busybox (sh as the default command), as a tar for `ctr image import`. */
async function buildImage(dir: string): Promise<string> {
  await must("umoci", ["init", "--layout", `${dir}/layout`]);
  await must("umoci", ["new", "--image", `${dir}/layout:latest`]);
  await must("umoci", ["unpack", "--image", `${dir}/layout:latest`, `${dir}/unpacked`]);
  const bin = `${dir}/unpacked/rootfs/bin`;
  Deno.mkdirSync(bin, { recursive: true });
  Deno.copyFileSync("/bin/busybox", `${bin}/busybox`);
  Deno.chmodSync(`${bin}/busybox`, 0o755);
  for (const a of ["sh", "echo", "true", "sleep", "tty", "stty", "cat"]) {
    Deno.symlinkSync("busybox", `${bin}/${a}`);
  }
  await must("umoci", ["repack", "--image", `${dir}/layout:latest`, `${dir}/unpacked`]);
  await must("umoci", [
    "config",
    "--image",
    `${dir}/layout:latest`,
    "--config.cmd",
    "sh",
    "--config.env",
    "PATH=/bin",
  ]);
  await must("tar", ["-C", `${dir}/layout`, "-cf", `${dir}/image.tar`, "."]);
  return `${dir}/image.tar`;
}

async function unmountUnder(dir: string): Promise<void> {
  const points = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p) => p?.startsWith(dir))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await sh("umount", ["-l", p]);
}

function killMatching(text: string): void {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (cmd.includes(text) && Number(e.name) !== Deno.pid) Deno.kill(Number(e.name), "SIGKILL");
    } catch { /* gone */ }
  }
}

Deno.test({
  name: "ctr (containerd 1.6) runs containers with berth as its runc",
  ignore: !haveContainerd,
  ...T,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "berth-test-ctr-" });
    const sock = `${dir}/containerd.sock`;
    Deno.writeTextFileSync(
      `${dir}/config.toml`,
      [
        "version = 2",
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${sock}"`,
      ].join("\n") + "\n",
    );
    const wrapper = `${dir}/berth-runc`;
    Deno.writeTextFileSync(
      wrapper,
      `#!/bin/sh\nexec ${Deno.execPath()} run -A ${REPO}/main.ts runc "$@"\n`,
    );
    Deno.chmodSync(wrapper, 0o755);
    const daemon = new Deno.Command("/usr/bin/containerd", {
      args: ["--config", `${dir}/config.toml`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const ctr = (args: string[]) =>
      sh("ctr", ["--address", sock, "--namespace", "berth-test", ...args]);
    try {
      const deadline = Date.now() + 20_000;
      while ((await sh("ctr", ["--address", sock, "version"])).code !== 0) {
        assert.ok(Date.now() < deadline, "containerd did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
      const tar = await buildImage(dir);
      const imp = await ctr(["images", "import", "--base-name", "berth.test/busybox", tar]);
      assert.equal(imp.code, 0, imp.stderr);
      const image = "berth.test/busybox:latest";

      // a) to completion: output and exit code come through.
      const a = await ctr([
        "run",
        "--rm",
        "--runc-binary",
        wrapper,
        image,
        "c1",
        "sh",
        "-c",
        "echo hello from berth; exit 3",
      ]);
      assert.equal(a.stdout, "hello from berth\n", a.stderr);
      assert.equal(a.code, 3);

      // b) with a TTY (ctr -t needs a terminal: `script` gives it one).
      const b = await sh("script", [
        "-qec",
        `ctr --address ${sock} --namespace berth-test run -t --rm --runc-binary ${wrapper} ` +
        `${image} c2 sh -c 'tty; [ -t 0 ] && echo is-a-tty; exit 5'`,
        "/dev/null",
      ]);
      assert.match(b.stdout, /\/dev\/pts\/\d+/, b.stdout + b.stderr);
      assert.match(b.stdout, /is-a-tty/);

      // c) detached, exec'd into, killed by ctr task kill, deleted.
      const c = await ctr(["run", "-d", "--runc-binary", wrapper, image, "c3", "sleep", "1000"]);
      assert.equal(c.code, 0, c.stderr);
      let ls = await ctr(["task", "ls"]);
      assert.match(ls.stdout, /c3\s+\d+\s+RUNNING/, ls.stdout);
      const ex = await ctr(["task", "exec", "--exec-id", "e1", "c3", "echo", "exec-ok"]);
      assert.equal(ex.stdout, "exec-ok\n", ex.stderr);
      const pause = await ctr(["task", "pause", "c3"]);
      assert.equal(pause.code, 0, pause.stderr);
      assert.match((await ctr(["task", "ls"])).stdout, /c3\s+\d+\s+PAUSED/);
      assert.equal((await ctr(["task", "resume", "c3"])).code, 0);
      const kill = await ctr(["task", "kill", "-s", "SIGKILL", "c3"]);
      assert.equal(kill.code, 0, kill.stderr);
      const until = Date.now() + 10_000;
      do {
        ls = await ctr(["task", "ls"]);
        if (/c3\s+\d+\s+STOPPED/.test(ls.stdout)) break;
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() < until);
      assert.match(ls.stdout, /c3\s+\d+\s+STOPPED/);
      assert.equal((await ctr(["task", "delete", "c3"])).code, 0);
      assert.equal((await ctr(["container", "delete", "c3"])).code, 0);
      assert.doesNotMatch((await ctr(["container", "ls", "-q"])).stdout, /c[123]/);
    } finally {
      for (const id of ["c1", "c2", "c3"]) {
        await ctr(["task", "kill", "-s", "SIGKILL", id]);
        await ctr(["task", "delete", "--force", id]);
        await ctr(["container", "delete", id]);
      }
      try {
        daemon.kill("SIGTERM");
      } catch { /* gone */ }
      await daemon.status;
      killMatching(sock);
      await unmountUnder(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

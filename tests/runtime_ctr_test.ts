/**
 * A real peer drives berth's runtime: Debian's containerd 1.6, started here
 * on a temporary socket with its root, state and plugin directories in a
 * temporary directory, runs containers through its own
 * containerd-shim-runc-v2 with `ctr run --runc-binary <wrapper of berth>`.
 * The image is built here: busybox-static packed with umoci into an OCI
 * layout and imported with `ctr images import`.
 *
 * Covered: a container run to completion (output, exit code), one with a
 * TTY under a real terminal (`script`), and a detached one that is exec'd
 * into (with and without a TTY), listed with `ctr task ps`, paused and
 * resumed, killed with SIGKILL, and a second one stopped by SIGTERM; then
 * nothing may be left: no runtime state, cgroup, mount or process.
 *
 * The wrapper runs `deno run -A main.ts runc "$@"` (or BERTH_TEST_RUNC's
 * runtime, see helpers/runtime.ts). It keeps a hard link to every container's runtime log (the
 * `--log` file the shim passes, which the shim deletes with the bundle) and
 * a list of the runtime calls; failures quote them with containerd's log.
 */
import assert from "node:assert/strict";
import { T } from "./helpers/fixture.ts";
import { runtimeArgv } from "./helpers/runtime.ts";
import { assertNoLeaks, cgroupMounts } from "./helpers/leaks.ts";

const td = new TextDecoder();
const CONTAINERD = "/usr/bin/containerd";
const haveContainerd = (() => {
  try {
    return Deno.statSync(CONTAINERD).isFile;
  } catch {
    return false;
  }
})();

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(cmd: string, args: string[], opts: { stdin?: string } = {}): Promise<Out> {
  const child = new Deno.Command(cmd, {
    args,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 30_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function readOr(path: string, fallback = ""): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An OCI layout of busybox (sh as the default command), as a tar for `ctr images import`. */
async function buildImage(dir: string): Promise<string> {
  const layout = `${dir}/layout`, unpacked = `${dir}/unpacked`;
  await must("umoci", ["init", "--layout", layout]);
  await must("umoci", ["new", "--image", `${layout}:latest`]);
  await must("umoci", ["unpack", "--image", `${layout}:latest`, unpacked]);
  const rootfs = `${unpacked}/rootfs`;
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc"]) {
    Deno.mkdirSync(`${rootfs}/${d}`, { recursive: true });
  }
  Deno.copyFileSync("/bin/busybox", `${rootfs}/bin/busybox`);
  Deno.chmodSync(`${rootfs}/bin/busybox`, 0o755);
  for (const a of ["sh", "echo", "true", "sleep", "tty", "stty", "cat", "ls", "id"]) {
    Deno.symlinkSync("busybox", `${rootfs}/bin/${a}`);
  }
  await must("umoci", ["repack", "--image", `${layout}:latest`, unpacked]);
  await must("umoci", [
    "config",
    "--image",
    `${layout}:latest`,
    "--config.cmd",
    "sh",
    "--config.env",
    "PATH=/bin",
  ]);
  // umoci names the manifest in index.json (org.opencontainers.image.ref.name
  // "latest"), which --base-name turns into <base>:latest.
  const index = JSON.parse(Deno.readTextFileSync(`${layout}/index.json`));
  assert.equal(
    index.manifests?.[0]?.annotations?.["org.opencontainers.image.ref.name"],
    "latest",
    JSON.stringify(index),
  );
  await must("tar", ["-C", layout, "-cf", `${dir}/image.tar`, "."]);
  return `${dir}/image.tar`;
}

/**
 * Prints `stty size` once the pty has one: ctr sizes a task's pty only
 * after starting it (`ctr run -t` and `ctr task exec -t` alike, whatever the
 * runtime), so a quick process may still see 0x0 (busybox stty then fails).
 */
const WAIT_FOR_SIZE =
  'i=0; until s=$(stty size 2>/dev/null) && [ -n "$s" ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i+1)); done; echo "$s"';

/**
 * A terminal's output without the "^@" its echo shows for a NUL byte
 * (which turns up, at any point, when ctr -t runs under `script`).
 */
function screen(o: Out): string {
  return o.stdout.replaceAll("^@", "");
}

/** Quotes a word for sh. */
function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Everything that tells why something failed. */
function diagnostics(dir: string): string {
  const parts = [`--- runtime calls ---\n${readOr(`${dir}/runtime-calls.log`)}`];
  try {
    for (const e of Deno.readDirSync(`${dir}/runtime-logs`)) {
      parts.push(`--- runtime log ${e.name} ---\n${readOr(`${dir}/runtime-logs/${e.name}`)}`);
    }
  } catch { /* none yet */ }
  const log = readOr(`${dir}/containerd.log`).split("\n").filter((l) => !/level=info/.test(l));
  parts.push(`--- containerd log (not info) ---\n${log.slice(-40).join("\n")}`);
  return parts.join("\n");
}

/** The shim's socket for a container (containerd 1.6: /run/containerd/s/sha256(address/ns/id)). */
async function shimSocket(address: string, ns: string, id: string): Promise<string> {
  const hash = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${address}/${ns}/${id}`),
  );
  const hex = [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `/run/containerd/s/${hex}`;
}

function killMatching(text: string): void {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const cmd = readOr(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
    if (cmd.includes(text)) {
      try {
        Deno.kill(Number(e.name), "SIGKILL");
      } catch { /* gone */ }
    }
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const points = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) =>
      l.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
    )
    .filter((p) => p === dir || p?.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await sh("umount", ["-l", p]);
}

/**
 * Kills whatever is still in the namespace's cgroups and removes them:
 * first every freezer is thawed (a frozen process cannot die), then every
 * process is killed, then the directories are removed, children first.
 */
async function removeCgroups(parents: string[]): Promise<void> {
  const dirs: string[] = [];
  for (const parent of parents) {
    try {
      for (const e of Deno.readDirSync(parent)) {
        if (e.isDirectory) dirs.push(`${parent}/${e.name}`);
      }
      dirs.push(parent);
    } catch { /* not there */ }
  }
  for (const cg of dirs) {
    if (exists(`${cg}/freezer.state`)) {
      try {
        Deno.writeTextFileSync(`${cg}/freezer.state`, "THAWED");
      } catch { /* ignore */ }
    }
  }
  for (const cg of dirs) {
    for (const pid of readOr(`${cg}/cgroup.procs`).split("\n").filter(Boolean)) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
  }
  const deadline = Date.now() + 3000;
  for (const cg of dirs) {
    while (exists(cg)) {
      try {
        Deno.removeSync(cg);
      } catch {
        if (Date.now() > deadline) break;
        await sleep(50);
      }
    }
  }
}

Deno.test({
  name: `ctr (containerd 1.6) runs containers with berth as its runc${
    haveContainerd ? "" : ` (ignored: ${CONTAINERD} is not installed)`
  }`,
  ignore: !haveContainerd,
  ...T,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "berth-test-ctr-" });
    const sock = `${dir}/containerd.sock`;
    const ns = `berth-ctr-${crypto.randomUUID().slice(0, 8)}`;
    const runcRoot = `${dir}/runc`;
    const ids = ["c1", "c2", "c3", "c4"];
    // The shim gives containers linux.cgroupsPath /<namespace>/<id>.
    const cgroupParents = cgroupMounts().map((m) => `${m.mountPoint}/${ns}`);
    const cgroupDirs = cgroupParents.flatMap((p) => ids.map((id) => `${p}/${id}`));
    Deno.writeTextFileSync(
      `${dir}/config.toml`,
      [
        "version = 2",
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        // CRI wants CNI, its own config and a pause image; nothing here needs it.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${sock}"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${dir}/opt"`,
      ].join("\n") + "\n",
    );
    Deno.mkdirSync(`${dir}/runtime-logs`);
    const wrapper = `${dir}/berth-runc`;
    Deno.writeTextFileSync(
      wrapper,
      `#!/bin/sh
# berth as runc for containerd-shim-runc-v2; keeps each container's --log file.
log= prev=
for a in "$@"; do [ "$prev" = --log ] && log=$a; prev=$a; done
echo "$*" >> ${shq(`${dir}/runtime-calls.log`)}
if [ -n "$log" ] && [ -d "$(dirname "$log")" ]; then
  [ -e "$log" ] || : > "$log"
  ln -f "$log" ${shq(`${dir}/runtime-logs/`)}"$(basename "$(dirname "$log")").log.json" 2>/dev/null
fi
export DENO_NO_UPDATE_CHECK=1
exec ${runtimeArgv().map(shq).join(" ")} "$@"
`,
    );
    Deno.chmodSync(wrapper, 0o755);
    const runtimeFlags = [
      "--runc-binary",
      wrapper,
      "--runc-root",
      runcRoot,
      "--fifo-dir",
      `${dir}/fifo`,
    ];
    const ctrArgs = (args: string[]) => ["--address", sock, "--namespace", ns, ...args];
    const ctr = (args: string[], opts: { stdin?: string } = {}) => sh("ctr", ctrArgs(args), opts);
    const diag = () => diagnostics(dir);
    const why = (r: Out) =>
      `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n${diag()}`;
    /** `ctr ARGS` under a real terminal of 30x100 (ctr -t needs one); the output is the terminal's. */
    const ctrInTerminal = (args: string[]) =>
      sh("script", [
        "-qec",
        `stty rows 30 cols 100; exec ctr ${ctrArgs(args).map(shq).join(" ")}`,
        "/dev/null",
      ]);
    const taskStatus = async (id: string) => {
      const ls = await ctr(["task", "ls"]);
      return new RegExp(`^${id}\\s+(\\d+)\\s+(\\S+)`, "m").exec(ls.stdout);
    };
    const waitStatus = async (id: string, status: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const m = await taskStatus(id);
        if (m?.[2] === status) return Number(m[1]);
        assert.ok(Date.now() < deadline, `task ${id} never ${status} (last: ${m?.[0]})\n${diag()}`);
        await sleep(50);
      }
    };

    // containerd itself: stdout and stderr to a log file, by way of sh.
    const daemon = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        `exec ${CONTAINERD} --config ${shq(`${dir}/config.toml`)} >>${
          shq(`${dir}/containerd.log`)
        } 2>&1`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let daemonExited = false;
    daemon.status.then(() => daemonExited = true);
    const stopDaemon = async () => {
      if (daemonExited) return;
      try {
        daemon.kill("SIGTERM");
      } catch { /* gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        daemon.status.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
      ]);
      clearTimeout(timer);
      if (!stopped) {
        try {
          daemon.kill("SIGKILL");
        } catch { /* gone */ }
        await daemon.status;
      }
    };
    try {
      const deadline = Date.now() + 20_000;
      while ((await sh("ctr", ["--address", sock, "version"])).code !== 0) {
        assert.ok(!daemonExited, `containerd exited at start:\n${diag()}`);
        assert.ok(Date.now() < deadline, `containerd did not answer in 20 s:\n${diag()}`);
        await sleep(100);
      }

      const image = "berth.test/busybox:latest";
      await t.step("an OCI layout built with umoci is imported", async () => {
        const tar = await buildImage(dir);
        const imp = await ctr([
          "images",
          "import",
          "--base-name",
          "berth.test/busybox",
          "--digests",
          "--all-platforms",
          tar,
        ]);
        assert.equal(imp.code, 0, why(imp));
        const names = (await ctr(["images", "ls", "-q"])).stdout.split("\n");
        assert.ok(names.includes(image), `images: ${names}`);
      });

      await t.step("a) ctr run --rm: output and the exit code come through", async () => {
        const a = await ctr([
          "run",
          "--rm",
          ...runtimeFlags,
          image,
          "c1",
          "sh",
          "-c",
          "echo hello from berth; echo to stderr >&2; read -r l; echo stdin:$l; " +
          "echo fds: $(ls /proc/self/fd); exit 3",
        ], { stdin: "piped in\n" });
        // Only stdio (the shim's FIFOs) and ls's own directory fd: nothing leaked in.
        assert.equal(a.stdout, "hello from berth\nstdin:piped in\nfds: 0 1 2 3\n", why(a));
        assert.match(a.stderr, /to stderr/, why(a));
        // ctr 1.6 exits with the task's exit code.
        assert.equal(a.code, 3, why(a));
        assert.equal(await taskStatus("c1"), null, "--rm removed the task");
      });

      await t.step("b) ctr run -t under a terminal: a tty of the terminal's size", async () => {
        const b = await ctrInTerminal([
          "run",
          "-t",
          "--rm",
          ...runtimeFlags,
          image,
          "c2",
          "sh",
          "-c",
          `tty; ${WAIT_FOR_SIZE}; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 5`,
        ]);
        assert.match(b.stdout, /\/dev\/pts\/\d+\r*$/m, why(b));
        // ctr resizes the pty (through the shim) to its own terminal's size.
        assert.match(screen(b), /^30 100\r*$/m, why(b));
        assert.match(b.stdout, /is-a-tty/, why(b));
        assert.equal(b.code, 5, `the exit code comes through ctr and script: ${why(b)}`);
      });

      await t.step("c) ctr run -d, exec, ps, pause/resume, kill, delete", async () => {
        const c = await ctr(["run", "-d", ...runtimeFlags, image, "c3", "sleep", "1000"]);
        assert.equal(c.code, 0, why(c));
        const pid = await waitStatus("c3", "RUNNING");
        // `runc start` may return while the init is still in execve (whose
        // teardown of the old address space leaves an empty cmdline for a moment).
        const until = Date.now() + 5000;
        while (readOr(`/proc/${pid}/cmdline`) !== "sleep\x001000\x00" && Date.now() < until) {
          await sleep(20);
        }
        assert.equal(readOr(`/proc/${pid}/cmdline`), "sleep\x001000\x00", diag());

        const ex = await ctr([
          "task",
          "exec",
          "--exec-id",
          "e1",
          "--fifo-dir",
          `${dir}/fifo`,
          "c3",
          "sh",
          "-c",
          "echo hi; cat /proc/1/cmdline; echo; exit 7",
        ]);
        assert.equal(ex.stdout, "hi\nsleep\x001000\x00\n", why(ex));
        assert.equal(ex.code, 7, why(ex));

        const ext = await ctrInTerminal([
          "task",
          "exec",
          "-t",
          "--exec-id",
          "e2",
          "--fifo-dir",
          `${dir}/fifo`,
          "c3",
          "sh",
          "-c",
          `tty; ${WAIT_FOR_SIZE}; [ -t 0 ] && [ -t 1 ] && echo exec-is-a-tty; exit 6`,
        ]);
        assert.match(screen(ext), /^30 100\r*$/m, why(ext));
        assert.match(ext.stdout, /\/dev\/pts\/\d+\r*$/m, why(ext));
        assert.match(ext.stdout, /exec-is-a-tty/, why(ext));
        assert.equal(ext.code, 6, why(ext));

        // ctr task ps asks the runtime (`runc ps`).
        const ps = await ctr(["task", "ps", "c3"]);
        assert.equal(ps.code, 0, why(ps));
        assert.match(ps.stdout, new RegExp(`^${pid}\\s`, "m"), why(ps));

        const pause = await ctr(["task", "pause", "c3"]);
        assert.equal(pause.code, 0, why(pause));
        await waitStatus("c3", "PAUSED");
        const freezer = cgroupMounts().find((m) => m.controllers.includes("freezer"));
        if (freezer) {
          assert.equal(
            readOr(`${freezer.mountPoint}/${ns}/c3/freezer.state`).trim(),
            "FROZEN",
          );
        }
        const resume = await ctr(["task", "resume", "c3"]);
        assert.equal(resume.code, 0, why(resume));
        await waitStatus("c3", "RUNNING");

        const kill = await ctr(["task", "kill", "-s", "SIGKILL", "c3"]);
        assert.equal(kill.code, 0, why(kill));
        await waitStatus("c3", "STOPPED");
        // ctr 1.6's task delete exits 0 and warns of a non-zero exit status (128 + 9).
        const del = await ctr(["task", "delete", "c3"]);
        assert.equal(del.code, 0, why(del));
        assert.match(del.stderr, /exit code 137\b/, why(del));
        const cdel = await ctr(["container", "delete", "c3"]);
        assert.equal(cdel.code, 0, why(cdel));
      });

      await t.step("ctr task kill (SIGTERM) reaches a process that traps it", async () => {
        const c = await ctr([
          "run",
          "-d",
          ...runtimeFlags,
          image,
          "c4",
          "sh",
          "-c",
          "trap 'exit 42' TERM; while :; do sleep 0.1; done",
        ]);
        assert.equal(c.code, 0, why(c));
        await waitStatus("c4", "RUNNING");
        const kill = await ctr(["task", "kill", "c4"]);
        assert.equal(kill.code, 0, why(kill));
        await waitStatus("c4", "STOPPED");
        const del = await ctr(["task", "delete", "c4"]);
        assert.equal(del.code, 0, why(del));
        assert.match(del.stderr, /exit code 42\b/, why(del));
        assert.equal((await ctr(["container", "delete", "c4"])).code, 0);
      });

      await t.step("nothing is left", async () => {
        assert.equal((await ctr(["container", "ls", "-q"])).stdout, "");
        assert.equal((await ctr(["task", "ls", "-q"])).stdout, "");
        let states: string[] = [];
        try {
          states = [...Deno.readDirSync(`${runcRoot}/${ns}`)].map((e) => e.name);
        } catch { /* never made */ }
        assert.deepEqual(states, [], "the runtime's state directories");
        await stopDaemon();
        // Shims exit once their task is deleted; the runtime removed mounts and cgroups.
        await assertNoLeaks([dir], cgroupDirs, 5000);
      });
    } finally {
      for (const id of ids) {
        if (daemonExited) break;
        // A paused task cannot die: the shim would wait for its exit forever.
        await ctr(["task", "resume", id]);
        await ctr(["task", "kill", "-s", "SIGKILL", id]);
        await ctr(["task", "delete", "--force", id]);
        await ctr(["container", "delete", id]);
      }
      await stopDaemon();
      await removeCgroups(cgroupParents);
      killMatching(dir);
      for (const id of ids) {
        await Deno.remove(await shimSocket(sock, ns, id)).catch(() => {});
      }
      await unmountUnder(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Debian's dockerd (docker.io 20.10) for tests of berth's `docker` client
 * against a complete engine: its own socket, data root, exec root and
 * containerd namespace under a temporary directory (never
 * /var/run/docker.sock), no bridge and no iptables. A busybox image is made
 * from busybox-static with the real CLI's `import`.
 */
import { type CliResult, runDocker } from "./dockerd.ts";
import { runBerthDocker } from "./cli.ts";
import { removeTestCgroupParents, TEST_CGROUP_PARENT } from "./leaks.ts";

export interface RealDockerd {
  dir: string;
  host: string;
  /** The real Docker CLI against this daemon. */
  docker(args: string[], opts?: { stdin?: string }): Promise<CliResult>;
  /** berth's docker client against this daemon. */
  berth(args: string[], opts?: { stdin?: string }): Promise<CliResult>;
  close(): Promise<void>;
}

const BUSYBOX_APPLETS = [
  "sh",
  "ls",
  "cat",
  "echo",
  "sleep",
  "true",
  "false",
  "env",
  "id",
  "pwd",
  "hostname",
  "ps",
  "top",
  "mkdir",
  "rm",
  "wc",
  "head",
  "yes",
  "seq",
  "touch",
  "kill",
  "printf",
  "tty",
  "grep",
  "cut",
  "sed",
  "df",
  "tail",
  "umask",
  "tr",
  "sort",
];

export function realDockerdAvailable(): boolean {
  try {
    Deno.statSync("/usr/sbin/dockerd");
    Deno.statSync("/usr/bin/busybox");
    return true;
  } catch {
    return false;
  }
}

/**
 * `setup` may put files in the daemon's directory before it starts, and
 * returns its daemon.json (default: empty).
 */
export async function startRealDockerd(
  setup: (dir: string) => Record<string, unknown> = () => ({}),
): Promise<RealDockerd> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-realdockerd-" });
  const daemonJson = setup(dir);
  const socket = `${dir}/docker.sock`;
  const ns = `berthtest${Date.now().toString(36)}`;
  const child = new Deno.Command("/usr/sbin/dockerd", {
    args: [
      "-H",
      `unix://${socket}`,
      "--data-root",
      `${dir}/data`,
      "--exec-root",
      `${dir}/exec`,
      "--pidfile",
      `${dir}/docker.pid`,
      "--bridge",
      "none",
      "--iptables=false",
      "--ip-masq=false",
      "--containerd-namespace",
      ns,
      "--containerd-plugins-namespace",
      `${ns}p`,
      "--config-file",
      `${dir}/daemon.json`,
      // The tests' parent cgroup, not /docker (removed at close).
      "--cgroup-parent",
      TEST_CGROUP_PARENT,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  Deno.writeTextFileSync(`${dir}/daemon.json`, JSON.stringify(daemonJson) + "\n");
  const proc = child.spawn();
  const errLog = await Deno.open(`${dir}/dockerd.err`, { write: true, create: true });
  proc.stderr.pipeTo(errLog.writable).catch(() => {});
  const host = `unix://${socket}`;
  const docker = (args: string[], opts?: { stdin?: string }) =>
    runDocker(["-H", host, ...args], dir, opts);
  const berth = (args: string[], opts?: { stdin?: string }) =>
    runBerthDocker(["-H", host, ...args], dir, opts);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await docker(["version", "--format", "{{.Server.Version}}"]);
    if (r.code === 0) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`dockerd did not start:\n${Deno.readTextFileSync(`${dir}/dockerd.err`)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // busybox:latest from busybox-static.
  const root = `${dir}/rootfs`;
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]) {
    Deno.mkdirSync(`${root}/${d}`, { recursive: true });
  }
  Deno.copyFileSync("/usr/bin/busybox", `${root}/bin/busybox`);
  Deno.chmodSync(`${root}/bin/busybox`, 0o755);
  for (const a of BUSYBOX_APPLETS) Deno.symlinkSync("busybox", `${root}/bin/${a}`);
  Deno.writeTextFileSync(
    `${root}/etc/passwd`,
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
  );
  Deno.writeTextFileSync(`${root}/etc/group`, "root:x:0:\nnogroup:x:65534:\n");
  const tar = await new Deno.Command("tar", {
    args: ["-C", root, "-cf", `${dir}/busybox.tar`, "."],
  })
    .output();
  if (!tar.success) throw new Error("tar failed");
  const imp = await docker([
    "import",
    "-c",
    'CMD ["sh"]',
    "-c",
    "ENV PATH=/bin",
    `${dir}/busybox.tar`,
    "busybox:latest",
  ]);
  if (imp.code !== 0) throw new Error(`import failed: ${imp.stderr}`);
  return {
    dir,
    host,
    docker,
    berth,
    close: async () => {
      // Containers first, so that no overlay mount is left behind.
      const ids = (await docker(["ps", "-aq"])).stdout.trim().split("\n").filter(Boolean);
      if (ids.length) await docker(["rm", "-f", ...ids]);
      try {
        proc.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          proc.kill("SIGKILL");
        } catch { /* gone */ }
      }, 20_000);
      await proc.status;
      clearTimeout(timer);
      await new Deno.Command("umount", { args: ["-R", `${dir}/data`], stderr: "null" }).output()
        .catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      removeTestCgroupParents();
    },
  };
}

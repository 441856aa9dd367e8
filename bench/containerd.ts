/**
 * The containerd suite: berth's containerd (with its shims) against Debian's
 * containerd 1.6 with containerd-shim-runc-v2 and runc, both driven through
 * the same grpc-js client and protos, each on its own temporary socket, root
 * and state (the peer with CRI disabled):
 *
 * - lifecycle: Tasks.Create, Start, Wait, Delete of a busybox `true`
 *   (the container record is made before and removed after, untimed);
 * - PSS per idle container: N containers running `sleep`; the PSS of every
 *   shim process plus the daemon's PSS growth, divided by N. berth runs it
 *   with one shim per container and with shims grouping `group` containers.
 *
 * Containers get a read-only bind mount of one busybox rootfs and cgroups
 * below /berth-bench. Everything is removed at the end, also after Ctrl-C.
 *
 * Settings: idle=N (default 50), group=N (default 10).
 */
import { removeTree, templateRootfs } from "../tests/helpers/bundle.ts";
import {
  bindRootfs,
  type Client,
  connect,
  containerSpec,
  createContainer,
  startDaemon,
} from "../tests/helpers/containerd.ts";
import { processesMentioning } from "../tests/helpers/leaks.ts";
import { removeBenchCgroups } from "./runtime.ts";
import {
  Aborted,
  aborted,
  type BenchOptions,
  type Metric,
  onCleanup,
  type Suite,
  type SuiteResult,
} from "./lib.ts";

const NS = "bench";
const PEER = "/usr/bin/containerd";

interface Daemon {
  name: string;
  address: string;
  /** The daemon's pid (its PSS growth counts). */
  pid: number;
  /** A path every shim's command line mentions (to find the shims). */
  marker: string;
  stop(): Promise<void>;
}

/** PSS of a process in MB (0 when gone). */
function pssMB(pid: number): number {
  try {
    const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const kb = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

async function startOurs(group: number): Promise<Daemon> {
  const d = await startDaemon({ shimGroupSize: group });
  onCleanup(() => d.stop("SIGKILL").then(() => removeTree(d.dir)));
  return {
    name: `berth containerd (group ${group})`,
    address: d.address,
    pid: d.proc.pid,
    marker: d.state,
    stop: async () => {
      await d.stop();
    },
  };
}

async function startPeer(): Promise<Daemon | undefined> {
  try {
    await Deno.stat(PEER);
  } catch {
    return undefined;
  }
  const dir = await Deno.makeTempDir({ prefix: "berth-bench-ctrd-" });
  const address = `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/config.toml`,
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]",
      `  address = "${address}"`,
      "[ttrpc]",
      `  address = "${address}.ttrpc"`,
      "",
    ].join("\n"),
  );
  const proc = new Deno.Command(PEER, {
    args: ["--config", `${dir}/config.toml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      proc.kill("SIGTERM");
    } catch { /* gone */ }
    await proc.status;
  };
  onCleanup(async () => {
    await stop();
    // Shims outlive the daemon: kill whatever still mentions the directory.
    for (const p of processesMentioning([dir])) {
      try {
        Deno.kill(Number(p.split(":")[0]), "SIGKILL");
      } catch { /* gone */ }
    }
    await removeTree(dir);
  });
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ transport: "unix", path: address })).close();
      return { name: "containerd 1.6 + shim-runc-v2", address, pid: proc.pid, marker: dir, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("Debian's containerd did not come up");
}

let seq = 0;

/** Makes a container record whose task runs `args` on the shared rootfs. */
async function container(c: Client, args: string[]): Promise<string> {
  const id = `b${Date.now().toString(36)}${(seq++).toString(36)}`;
  const spec = containerSpec(NS, id, { args, cgroupsPath: `/berth-bench/${id}` }, "bench");
  spec.root = { path: "rootfs", readonly: true };
  await createContainer(c, NS, id, spec);
  return id;
}

async function createTask(c: Client, id: string, rootfs: string): Promise<void> {
  await c.tasks("Create", NS, {
    container_id: id,
    rootfs: bindRootfs(rootfs).map((m) => ({ ...m, options: ["rbind", "ro"] })),
  });
}

/** One create+start+wait+delete of `true`, in ms. */
async function lifecycle(c: Client, rootfs: string): Promise<number> {
  const id = await container(c, ["true"]);
  const t0 = performance.now();
  await createTask(c, id, rootfs);
  const exited = c.tasks("Wait", NS, { container_id: id });
  await c.tasks("Start", NS, { container_id: id });
  const { exit_status } = await exited;
  await c.tasks("Delete", NS, { container_id: id });
  const ms = performance.now() - t0;
  await c.containers("Delete", NS, { id });
  if (exit_status !== 0) throw new Error(`true exited with ${exit_status}`);
  return ms;
}

/** PSS per idle container (shims + daemon growth) with `n` sleeping containers. */
async function idlePss(d: Daemon, c: Client, rootfs: string, n: number, log: (s: string) => void) {
  const before = pssMB(d.pid);
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      if (aborted()) throw new Aborted();
      const id = await container(c, ["sleep", "3600"]);
      ids.push(id);
      await createTask(c, id, rootfs);
      await c.tasks("Start", NS, { container_id: id });
    }
    await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage settle
    const shims = processesMentioning([d.marker])
      .map((p) => Number(p.split(":")[0]))
      .filter((pid) => pid !== d.pid);
    const shimPss = shims.reduce((sum, pid) => sum + pssMB(pid), 0);
    const growth = pssMB(d.pid) - before;
    log(
      `  ${d.name}: ${shims.length} shim processes, ${shimPss.toFixed(1)} MB PSS; ` +
        `daemon +${growth.toFixed(1)} MB`,
    );
    return (shimPss + Math.max(0, growth)) / n;
  } finally {
    for (const id of ids) {
      await c.tasks("Kill", NS, { container_id: id, signal: 9, all: true }).catch(() => {});
      await c.tasks("Wait", NS, { container_id: id }).catch(() => {});
      await c.tasks("Delete", NS, { container_id: id }).catch(() => {});
      await c.containers("Delete", NS, { id }).catch(() => {});
    }
  }
}

const suite: Suite = {
  name: "containerd",
  description: "containerd's Tasks API: task lifecycle latency, memory per idle container",
  async run(opts: BenchOptions): Promise<SuiteResult> {
    const n = Number(opts.settings.idle ?? 50);
    const group = Number(opts.settings.group ?? 10);
    const tpl = await templateRootfs();
    const rootfs = tpl; // mounted read-only: one copy serves every container
    // Registered first, so it runs last: after both daemons and their containers are gone.
    onCleanup(() => {
      const left = removeBenchCgroups();
      if (left.length) opts.log(`clean-up: cgroups left (still in use?): ${left.join(" ")}`);
    });

    const ours = await startOurs(1);
    const peer = await startPeer();
    const clients = new Map<Daemon, Client>();
    const client = (d: Daemon) => {
      if (!clients.has(d)) clients.set(d, connect(d.address));
      return clients.get(d)!;
    };
    onCleanup(() => clients.forEach((c) => c.close()));
    // Clients go first: Deno has crashed (SIGSEGV) here when a daemon went
    // away under an open grpc-js connection.
    const stop = async (d: Daemon) => {
      clients.get(d)?.close();
      clients.delete(d);
      await new Promise((r) => setTimeout(r, 50));
      await d.stop();
    };
    const both = [ours, ...(peer ? [peer] : [])];

    const cycle: Metric = {
      name: "task create+start+wait+delete (true)",
      unit: "ms",
      ours: [],
      peer: [],
    };
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      // Alternate which daemon goes first, so machine drift falls on both.
      for (const d of i % 2 ? [...both].reverse() : both) {
        const ms = await lifecycle(client(d), rootfs);
        if (i >= opts.warmup) (d === ours ? cycle.ours : cycle.peer).push(ms);
      }
    }

    opts.log(`idle containers: ${n}`);
    const pss1: Metric = {
      name: `PSS per idle container, ${n} (1 per shim)`,
      unit: "MB",
      ours: [],
      peer: [],
    };
    pss1.ours.push(await idlePss(ours, client(ours), rootfs, n, opts.log));
    let peerPss: number | undefined;
    if (peer) pss1.peer.push(peerPss = await idlePss(peer, client(peer), rootfs, n, opts.log));
    await stop(ours);

    const grouped = await startOurs(group);
    const pssG: Metric = {
      name: `PSS per idle container, ${n} (${group} per shim)`,
      unit: "MB",
      ours: [await idlePss(grouped, client(grouped), rootfs, n, opts.log)],
      peer: peerPss === undefined ? [] : [peerPss],
    };
    await stop(grouped);
    if (peer) await stop(peer);

    return {
      suite: "containerd",
      ours: "berth containerd + berth shim + berth runc (deno run)",
      peer: peer ? "containerd 1.6 + containerd-shim-runc-v2 + runc" : "(not installed)",
      notes: [
        `lifecycle: Tasks Create/Start/Wait/Delete over grpc-js on a unix socket, busybox true`,
        `PSS: sum of shim processes' Pss plus daemon Pss growth, divided by ${n}; ` +
        `the peer has no shim groups (its figure is repeated)`,
      ],
      metrics: [cycle, pss1, pssG],
    };
  },
};

export default suite;

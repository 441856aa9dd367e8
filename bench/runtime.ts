/**
 * The runtime suite: berth's `runc` role against Debian's runc on one busybox
 * bundle whose process is `true`, measured in one run, interleaved (each
 * iteration runs both, alternating which goes first, so drift of the machine
 * falls on both alike):
 *
 * - cycle: `create`, `start`, then `delete` once the process has exited;
 *   each command timed, and their sum;
 * - `run` of `true` in the foreground;
 * - the waiting init after `create` (before `start`): VmHWM, VmRSS and
 *   RssAnon from /proc/PID/status, Pss from /proc/PID/smaps_rollup (for runc
 *   the `runc init` process, for berth its init). RssAnon is what each more
 *   waiting container costs; the program's file pages are shared among them;
 * - `--version`: the start-up floor of each program.
 *
 * Each runtime gets its own --root under a temporary directory; containers
 * get cgroups below /berth-bench in each hierarchy. Everything is removed at
 * the end, also after a failure or Ctrl-C.
 */
import {
  type Bundle,
  makeBundle,
  MARKER_ENV,
  removeTemplateRootfs,
  removeTree,
} from "../tests/helpers/bundle.ts";
import { cgroupMounts } from "../tests/helpers/leaks.ts";
import {
  aborted,
  type BenchOptions,
  type Metric,
  onCleanup,
  type Suite,
  type SuiteResult,
  timed,
  timedOk,
} from "./lib.ts";

/** Parent cgroup (below each hierarchy's root) of the bench's containers. */
export const BENCH_CGROUP_PARENT = "/berth-bench";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${REPO}/main.ts`;
const COMPILED = `${REPO}/dist/berth`;

interface Runtime {
  key: "ours" | "peer";
  /** The command line up to (not including) the global options. */
  argv: string[];
  root: string;
  /** Containers that exist (or may, after a failure), to force-delete at the end. */
  live: Set<string>;
}

interface Memory {
  hwm: number;
  rss: number;
  anon: number;
  pss: number;
}

/** The command line of berth's runc role, and what it is in words. */
async function oursCommand(settings: Record<string, string>): Promise<[string[], string]> {
  if (settings.ours) return [settings.ours.split(/\s+/).filter(Boolean), settings.ours];
  const denoFlags = (settings["deno-flags"] ?? "").split(/\s+/).filter(Boolean);
  try {
    Deno.statSync(COMPILED);
    const r = await timed([COMPILED, "runc", "--version"], { stdout: true });
    if (r.code === 0 && /berth-runc/.test(r.stdout)) {
      return [[COMPILED, "runc"], "dist/berth runc (compiled)"];
    }
  } catch { /* not built */ }
  const argv = [Deno.execPath(), "run", "-A", ...denoFlags, MAIN, "runc"];
  return [argv, `deno run -A ${denoFlags.map((f) => f + " ").join("")}main.ts runc`];
}

/** /proc/PID memory figures in MB. */
function readMemory(pid: number): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const kb = (text: string, field: string) => {
    const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    if (!m) throw new Error(`no ${field} for pid ${pid}`);
    return Number(m[1]) / 1024;
  };
  return {
    hwm: kb(status, "VmHWM"),
    rss: kb(status, "VmRSS"),
    anon: kb(status, "RssAnon"),
    pss: kb(rollup, "Pss"),
  };
}

/** Waits until `pid` has exited (gone, or a zombie), polling /proc every millisecond. */
async function waitExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return;
    if (performance.now() > deadline) {
      throw new Error(`pid ${pid} still runs after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Host directories of BENCH_CGROUP_PARENT, one per hierarchy mounted at its root. */
function benchCgroupDirs(): string[] {
  return cgroupMounts().filter((m) => m.root === "/").map((m) =>
    `${m.mountPoint}${BENCH_CGROUP_PARENT}`
  );
}

/**
 * Removes the bench's cgroups, /berth-bench included (children first; cgroup
 * directories only go with rmdir). Returns what could not be removed.
 */
export function removeBenchCgroups(): string[] {
  const left: string[] = [];
  const rmdirTree = (dir: string) => {
    let children: string[];
    try {
      children = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
    } catch {
      return; // not there
    }
    for (const c of children) rmdirTree(`${dir}/${c}`);
    try {
      Deno.removeSync(dir);
    } catch {
      left.push(dir);
    }
  };
  for (const dir of benchCgroupDirs()) rmdirTree(dir);
  return left;
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const { log, settings } = opts;
  const peerPath = settings.peer ?? "/usr/sbin/runc";
  const [oursArgv, oursLabel] = await oursCommand(settings);

  const tmp = await Deno.makeTempDir({ prefix: "berth-bench-" });
  onCleanup(() => removeTree(tmp));
  onCleanup(() => {
    const left = removeBenchCgroups();
    if (left.length) log(`clean-up: cgroups left (still in use?): ${left.join(" ")}`);
  });
  const ours: Runtime = { key: "ours", argv: oursArgv, root: `${tmp}/root-ours`, live: new Set() };
  const peer: Runtime = {
    key: "peer",
    argv: [peerPath],
    root: `${tmp}/root-runc`,
    live: new Set(),
  };
  for (const rt of [ours, peer]) {
    onCleanup(async () => {
      for (const id of rt.live) {
        await timed([...rt.argv, "--root", rt.root, "delete", "--force", id]).catch(() => {});
      }
    });
  }

  // The helper removes its template root filesystem at `unload`, which an
  // uncaught error (a closed stdout) skips: removed at the end of this suite
  // (later suites build their own).
  onCleanup(removeTemplateRootfs);
  const bundle: Bundle = await makeBundle({ args: ["true"], cgroupsPath: null });
  onCleanup(() => bundle.cleanup());
  const spec = bundle.spec!;
  // The test bundles mark their process's environment; not wanted here.
  spec.process!.env = spec.process!.env!.filter((e) => !e.startsWith(`${MARKER_ENV}=`));

  /** config.json with this container's own cgroup (written before, untimed). */
  const configure = async (id: string) => {
    spec.linux!.cgroupsPath = `${BENCH_CGROUP_PARENT}/${id}`;
    await Deno.writeTextFile(bundle.config, JSON.stringify(spec, null, 2) + "\n");
  };
  const cmd = (rt: Runtime, ...args: string[]) => [...rt.argv, "--root", rt.root, ...args];
  const tag = crypto.randomUUID().slice(0, 6);

  const metrics = {
    cycle: [] as number[][],
    create: [] as number[][],
    start: [] as number[][],
    delete: [] as number[][],
    run: [] as number[][],
    version: [] as number[][],
    hwm: [] as number[][],
    rss: [] as number[][],
    anon: [] as number[][],
    pss: [] as number[][],
  };
  type Key = keyof typeof metrics;
  const record = (rt: Runtime, key: Key, value: number) => {
    const i = rt.key === "ours" ? 0 : 1;
    (metrics[key][i] ??= []).push(value);
  };

  const cycle = async (rt: Runtime, i: number, keep: boolean) => {
    const id = `${rt.key}-${tag}-c${i}`;
    await configure(id);
    rt.live.add(id);
    const c = await timedOk(cmd(rt, "create", "--bundle", bundle.dir, id), {
      inheritStderr: true,
    });
    const state = JSON.parse((await timedOk(cmd(rt, "state", id), { stdout: true })).stdout);
    if (state.status !== "created") throw new Error(`${id}: state ${state.status} after create`);
    const mem = readMemory(state.pid);
    const s = await timedOk(cmd(rt, "start", id));
    await waitExit(state.pid);
    const d = await timedOk(cmd(rt, "delete", id));
    rt.live.delete(id);
    if (!keep) return;
    record(rt, "create", c.ms);
    record(rt, "start", s.ms);
    record(rt, "delete", d.ms);
    record(rt, "cycle", c.ms + s.ms + d.ms);
    record(rt, "hwm", mem.hwm);
    record(rt, "rss", mem.rss);
    record(rt, "anon", mem.anon);
    record(rt, "pss", mem.pss);
  };
  const runTrue = async (rt: Runtime, i: number, keep: boolean) => {
    const id = `${rt.key}-${tag}-r${i}`;
    await configure(id);
    rt.live.add(id);
    const r = await timedOk(cmd(rt, "run", "--bundle", bundle.dir, id), { inheritStderr: true });
    rt.live.delete(id);
    if (keep) record(rt, "run", r.ms);
  };
  const version = async (rt: Runtime, keep: boolean) => {
    const r = await timedOk([...rt.argv, "--version"]);
    if (keep) record(rt, "version", r.ms);
  };

  const total = opts.warmup + opts.runs;
  log(`ours: ${oursArgv.join(" ")}`);
  log(`peer: ${peerPath}`);
  log(`${opts.warmup} warm-up + ${opts.runs} measured iterations, interleaved`);
  for (let i = 0; i < total; i++) {
    if (aborted()) break;
    const keep = i >= opts.warmup;
    // Alternate which runtime goes first, so neither always runs on a warmer machine.
    const order = i % 2 ? [peer, ours] : [ours, peer];
    for (const rt of order) await cycle(rt, i, keep);
    for (const rt of order) await runTrue(rt, i, keep);
    for (const rt of order) await version(rt, keep);
    if ((i + 1) % 10 === 0 || i + 1 === total) log(`  ${i + 1}/${total}`);
  }

  const peerVersion = firstLine((await timed([peerPath, "--version"], { stdout: true })).stdout);
  const m = (key: Key, name: string, unit: Metric["unit"]): Metric => ({
    name,
    unit,
    ours: metrics[key][0] ?? [],
    peer: metrics[key][1] ?? [],
  });
  return {
    suite: "runtime",
    ours: oursLabel,
    peer: "runc",
    notes: [
      `peer: ${peerPath} (${peerVersion}); deno ${Deno.version.deno}`,
      `machine: ${navigator.hardwareConcurrency} cores, kernel ${Deno.osRelease()}, ` +
      `cgroups: ${cgroupMounts().some((c) => !c.v2) ? "v1 (hybrid)" : "v2"}`,
      `${opts.runs} measured iterations after ${opts.warmup} warm-up, interleaved ours/runc`,
      "cycle = create + start + delete of busybox `true` (delete once the process exited)",
      "memory: the init waiting for start, after create (VmHWM, VmRSS, RssAnon; Pss from " +
      "smaps_rollup: file pages count in full unless another process maps them too)",
    ],
    metrics: [
      m("cycle", "cycle (create+start+delete)", "ms"),
      m("create", "  create", "ms"),
      m("start", "  start", "ms"),
      m("delete", "  delete", "ms"),
      m("run", "run true (foreground)", "ms"),
      m("version", "--version", "ms"),
      m("hwm", "init VmHWM", "MB"),
      m("rss", "init VmRSS", "MB"),
      m("anon", "init RssAnon", "MB"),
      m("pss", "init Pss", "MB"),
    ],
  };
}

const suite: Suite = {
  name: "runtime",
  description: "berth's runc role against Debian's runc (busybox `true`)",
  run,
};
export default suite;

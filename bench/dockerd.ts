/**
 * The dockerd suite: berth's dockerd against Debian's docker.io 20.10 dockerd
 * (with the containerd 1.6 it starts for itself, and runc), both driven by
 * the real Docker CLI 20.10 (/usr/bin/docker) or plain HTTP over their unix
 * sockets, in one run, interleaved (alternating which daemon goes first):
 *
 * - `docker run --rm --network none busybox true`, end to end through the CLI;
 * - GET /containers/json?all=1 requests per second with N created (never
 *   started) containers, from keep-alive connections at a fixed concurrency
 *   for a fixed time, in several windows;
 * - `docker pull` of a multi-layer image of incompressible (random) content
 *   from a local docker-registry on 127.0.0.1; the image is removed after
 *   each pull, and a pull that finds a layer already there fails the run.
 *
 * Each daemon gets its own socket, data root and exec root under a temporary
 * directory; the peer has no bridge, no iptables and its own containerd
 * namespace (as tests/helpers/real_dockerd.ts). Both get the test busybox
 * image (tests/helpers/busybox_image.ts) with `docker load`. Everything is
 * removed at the end, also after a failure or Ctrl-C.
 *
 * Settings: runs=N (docker run iterations; default --runs), containers=N
 * (default 100), concurrency=N (default 8), seconds=N (per rps window,
 * default 3), windows=N (default 3), pull-mb=N (default 200), layers=N
 * (default 8), pull-runs=N (default 3), ours="CMD ARGS" (berth's dockerd
 * command line), deno-flags="FLAGS".
 */
import { busyboxImage } from "../tests/helpers/busybox_image.ts";
import {
  buildImage,
  manifestDescriptor,
  tarDirectory,
  writeOciLayout,
} from "../tests/helpers/image_layers.ts";
import { processesMentioning } from "../tests/helpers/leaks.ts";
import { skopeoPush, startRegistry } from "../tests/helpers/registry.ts";
import { BENCH_CGROUP_PARENT, removeBenchCgroups } from "./runtime.ts";
import {
  Aborted,
  aborted,
  type BenchOptions,
  type Metric,
  onCleanup,
  type Suite,
  type SuiteResult,
  timed,
  timedOk,
} from "./lib.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const COMPILED = `${REPO}/dist/berth`;
const PEER = "/usr/sbin/dockerd";
/** The real CLI (docker.io 20.10), not whatever `docker` is first on PATH. */
const DOCKER = "/usr/bin/docker";
/** The CLI's API version; both daemons serve it. */
const API = "/v1.41";

interface Daemon {
  key: "ours" | "peer";
  name: string;
  dir: string;
  socket: string;
  /** The real Docker CLI against this daemon, timed. */
  cli(args: string[], stdout?: boolean): ReturnType<typeof timed>;
  /** A keep-alive HTTP client over the daemon's socket. */
  http: Deno.HttpClient;
  request(method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setting(opts: BenchOptions, name: string, fallback: number): number {
  const v = opts.settings[name];
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--set ${name}: not a count: ${v}`);
  return Number(v);
}

/** berth's dockerd command line, and what it is in words. */
async function oursCommand(settings: Record<string, string>): Promise<[string[], string]> {
  if (settings.ours) return [settings.ours.split(/\s+/).filter(Boolean), settings.ours];
  const denoFlags = (settings["deno-flags"] ?? "").split(/\s+/).filter(Boolean);
  try {
    Deno.statSync(COMPILED);
    const r = await timed([COMPILED, "dockerd", "--version"], { stdout: true });
    if (r.code === 0 && /berth/.test(r.stdout)) {
      return [[COMPILED, "dockerd"], "dist/berth dockerd (compiled)"];
    }
  } catch { /* not built */ }
  return [
    [Deno.execPath(), "run", "-A", ...denoFlags, `${REPO}/main.ts`, "dockerd"],
    `deno run -A ${denoFlags.map((f) => f + " ").join("")}main.ts dockerd`,
  ];
}

/** Mount points at or below `dir`, deepest first. */
function mountsBelow(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m) => m === dir || m?.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/**
 * Starts a daemon (`argv` plus socket, data root, exec root, config file
 * under a fresh temporary directory) and waits for /_ping. Its clean-up is
 * registered before it is spawned.
 */
async function startDaemon(
  key: Daemon["key"],
  name: string,
  argv: string[],
  extraArgs: string[],
): Promise<Daemon> {
  // A short directory: berth's containerd connects to its shims' sockets by full path, and
  // <exec-root>/containerd/shims/moby/<24 chars>/shim.sock must fit 107 bytes.
  const dir = await Deno.makeTempDir({ prefix: `berth-bd-${key}-` });
  const socket = `${dir}/docker.sock`;
  const logPath = `${dir}/daemon.log`;
  Deno.writeTextFileSync(`${dir}/daemon.json`, "{}\n");
  Deno.mkdirSync(`${dir}/docker-config`);
  const http = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const request = async (method: string, path: string, body?: unknown) => {
    if (aborted()) throw new Aborted();
    return await fetch(`http://docker${path}`, {
      method,
      client: http,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { "content-type": "application/json" },
    });
  };
  const log = await Deno.open(logPath, { write: true, create: true, append: true });
  const child = new Deno.Command(argv[0], {
    args: [
      ...argv.slice(1),
      "-H",
      `unix://${socket}`,
      "--data-root",
      `${dir}/data`,
      "--exec-root",
      `${dir}/exec`,
      "--config-file",
      `${dir}/daemon.json`,
      ...extraArgs,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pumps = Promise.all([child.stdout, child.stderr].map((s) => pump(s, log)));
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      // Containers first (berth's outlive its dockerd by design), while it answers.
      if (!exited) {
        try {
          const res = await fetch(`http://docker${API}/containers/json?all=1`, { client: http });
          const list = await res.json() as { Id: string }[];
          await inParallel(list, 4, async (c) => {
            const r = await fetch(`http://docker${API}/containers/${c.Id}?force=1`, {
              method: "DELETE",
              client: http,
            });
            await r.body?.cancel();
          });
        } catch { /* not answering */ }
      }
      http.close();
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 20_000);
        await child.status;
        clearTimeout(timer);
      }
      await pumps;
      log.close();
      // Whatever outlived it (a containerd, shims): by pid, only what names this directory.
      for (let i = 0; i < 50; i++) {
        const left = processesMentioning([dir]).map((p) => Number(p.split(":")[0]));
        if (!left.length) break;
        for (const pid of left) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* gone */ }
        }
        await sleep(20);
      }
      for (const m of mountsBelow(dir)) {
        await new Deno.Command("umount", { args: ["-l", m], stderr: "null" }).output();
      }
      await Deno.remove(dir, { recursive: true });
    })();
  onCleanup(stop);

  const readLog = () => {
    try {
      return Deno.readTextFileSync(logPath).split("\n").slice(-30).join("\n");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (aborted()) throw new Aborted();
    if (exited) throw new Error(`${name} exited (${exited.code}) while starting:\n${readLog()}`);
    try {
      const res = await request("GET", "/_ping");
      await res.body?.cancel();
      if (res.ok) break;
    } catch (e) {
      if (e instanceof Aborted) throw e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${name} did not answer /_ping in 60 s:\n${readLog()}`);
    }
    await sleep(50);
  }
  const env = { DOCKER_CONFIG: `${dir}/docker-config` };
  return {
    key,
    name,
    dir,
    socket,
    cli: (args, stdout = false) =>
      timedOk([DOCKER, "-H", `unix://${socket}`, ...args], { env, stdout }),
    http,
    request,
    stop,
  };
}

async function pump(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  try {
    for await (const chunk of stream) await file.write(chunk);
  } catch { /* the daemon went */ }
}

async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * busybox:latest as an archive both daemons load: Docker 20.10 reads only a
 * `docker save` manifest.json, so the test image's OCI layout gets one too
 * (as Docker 25's `docker save` writes both).
 */
async function busyboxArchive(dir: string): Promise<string> {
  const img = await busyboxImage();
  const layout = `${dir}/busybox`;
  await writeOciLayout(layout, [{
    descriptor: manifestDescriptor(img),
    refName: "latest",
    blobs: img.blobs,
  }]);
  const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
  index.manifests[0].annotations["io.containerd.image.name"] = "docker.io/library/busybox:latest";
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  const hex = (d: string) => `blobs/sha256/${d.slice("sha256:".length)}`;
  await Deno.writeTextFile(
    `${layout}/manifest.json`,
    JSON.stringify([{
      Config: hex(img.configDigest),
      RepoTags: ["busybox:latest"],
      Layers: img.manifest.layers.map((l) => hex(l.digest)),
    }]),
  );
  const path = `${dir}/busybox.tar`;
  await Deno.writeFile(path, await tarDirectory(layout));
  await Deno.remove(layout, { recursive: true });
  return path;
}

/** Random bytes (incompressible: gzip cannot make the pull cheaper). */
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(b.subarray(o, Math.min(n, o + 65536)));
  return b;
}

/** An OCI layout at `layout` of `layers` gzip layers of random files, `mb` MB in all. */
async function writeBigImage(layout: string, mb: number, layers: number): Promise<void> {
  const per = Math.floor((mb << 20) / layers);
  const img = await buildImage({
    layers: Array.from({ length: layers }, (_, i) => ({
      entries: [
        { name: `data${i}/`, type: "directory" as const },
        // A few files per layer, as real layers have.
        ...Array.from({ length: 4 }, (_, j) => ({
          name: `data${i}/blob${j}`,
          content: randomBytes(Math.floor(per / 4)),
        })),
      ],
      compression: "gzip" as const,
    })),
  });
  await writeOciLayout(layout, [{
    descriptor: manifestDescriptor(img),
    refName: "latest",
    blobs: img.blobs,
  }]);
}

/** GET /containers/json?all=1 from `concurrency` keep-alive loops for `ms`; requests per second. */
async function listRate(
  d: Daemon,
  concurrency: number,
  ms: number,
  expect: number,
): Promise<number> {
  let count = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const res = await d.request("GET", `${API}/containers/json?all=1`);
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${d.name}: GET /containers/json: ${res.status}`);
      // Check one answer in a while: the list must have every container.
      if (count % 500 === 0) {
        const n = (JSON.parse(new TextDecoder().decode(body)) as unknown[]).length;
        if (n !== expect) throw new Error(`${d.name}: listed ${n} containers, expected ${expect}`);
      }
      count++;
    }
  }));
  return count / ((performance.now() - t0) / 1000);
}

const suite: Suite = {
  name: "dockerd",
  description: "the Engine API end to end: docker run, container list rate, docker pull",
  async run(opts: BenchOptions): Promise<SuiteResult> {
    const runs = setting(opts, "runs", opts.runs);
    const nContainers = setting(opts, "containers", 100);
    const concurrency = setting(opts, "concurrency", 8);
    const seconds = setting(opts, "seconds", 3);
    const windows = setting(opts, "windows", 3);
    const pullMb = setting(opts, "pull-mb", 200);
    const layers = setting(opts, "layers", 8);
    const pullRuns = setting(opts, "pull-runs", 3);
    const log = opts.log;
    for (const p of [PEER, DOCKER]) Deno.statSync(p); // both are needed: no half comparison

    const tmp = await Deno.makeTempDir({ prefix: "berth-bench-dockerd-" });
    onCleanup(() => Deno.remove(tmp, { recursive: true }));

    // The registry first: both daemons are told it is insecure when they start.
    const registry = await startRegistry();
    onCleanup(() => registry.stop());
    const ref = `${registry.host}/bench/big:latest`;
    log(`building a ${pullMb} MB image (${layers} random gzip layers), pushing it to ${ref}`);
    await writeBigImage(`${tmp}/big`, pullMb, layers);
    await skopeoPush(`${tmp}/big:latest`, ref);
    await Deno.remove(`${tmp}/big`, { recursive: true });
    const archive = await busyboxArchive(tmp);

    const [oursArgv, oursLabel] = await oursCommand(opts.settings);
    // Both daemons' containers below the bench's parent cgroup, removed at the end (last).
    const common = [
      "--insecure-registry",
      registry.host,
      "--cgroup-parent",
      BENCH_CGROUP_PARENT,
    ];
    onCleanup(() => {
      const left = removeBenchCgroups();
      if (left.length) log(`clean-up: cgroups left (still in use?): ${left.join(" ")}`);
    });
    const ns = `berthbench${Date.now().toString(36)}`;
    log(`ours: ${oursArgv.join(" ")}`);
    const ours = await startDaemon("ours", "berth dockerd", oursArgv, common);
    const peer = await startDaemon("peer", "dockerd 20.10", [PEER], [
      ...common,
      "--pidfile",
      `${tmp}/peer.pid`,
      "--bridge",
      "none",
      "--iptables=false",
      "--ip-masq=false",
      "--containerd-namespace",
      ns,
      "--containerd-plugins-namespace",
      `${ns}p`,
    ]);
    const both = [ours, peer];
    const order = (i: number) => (i % 2 ? [peer, ours] : both);
    const driver = (await peer.cli(["info", "--format", "{{.Driver}}"], true)).stdout.trim();
    for (const d of both) await d.cli(["load", "-q", "-i", archive]);

    // 1. docker run --rm, end to end.
    const run: Metric = {
      name: "docker run --rm --network none busybox true",
      unit: "ms",
      ours: [],
      peer: [],
    };
    log(`docker run: ${opts.warmup} warm-up + ${runs} runs per daemon`);
    for (let i = 0; i < opts.warmup + runs; i++) {
      for (const d of order(i)) {
        const r = await d.cli(["run", "--rm", "--network", "none", "busybox", "true"]);
        if (i >= opts.warmup) run[d.key].push(r.ms);
      }
    }

    // 2. Container list rate with N created containers.
    log(`creating ${nContainers} containers on each daemon`);
    for (const d of both) {
      await inParallel(Array.from({ length: nContainers }, (_, i) => i), 4, async () => {
        const res = await d.request("POST", `${API}/containers/create`, {
          Image: "busybox",
          Cmd: ["true"],
          HostConfig: { NetworkMode: "none" },
        });
        const body = await res.text();
        if (res.status !== 201) throw new Error(`${d.name}: create: ${res.status} ${body}`);
      });
    }
    const list: Metric = {
      name: `GET /containers/json?all=1, ${nContainers} created, c=${concurrency}`,
      unit: "req/s",
      ours: [],
      peer: [],
    };
    log(`list rate: ${windows} windows of ${seconds} s per daemon, concurrency ${concurrency}`);
    for (const d of both) {
      const res = await d.request("GET", `${API}/containers/json?all=1`);
      log(`  ${d.name}: ${(await res.arrayBuffer()).byteLength} bytes per list`);
      await listRate(d, concurrency, 300, nContainers); // warm-up
    }
    for (let i = 0; i < windows; i++) {
      for (const d of order(i)) {
        list[d.key].push(await listRate(d, concurrency, seconds * 1000, nContainers));
      }
    }

    // 3. docker pull of the big image, removed again after each pull.
    const pull: Metric = {
      name: `docker pull, ${pullMb} MB in ${layers} layers (local registry)`,
      unit: "ms",
      ours: [],
      peer: [],
    };
    log(`docker pull: ${pullRuns} runs per daemon`);
    for (let i = 0; i < pullRuns; i++) {
      for (const d of order(i)) {
        const r = await d.cli(["pull", ref], true);
        if (/Already exists/.test(r.stdout)) {
          throw new Error(`${d.name}: a layer was already there after rmi:\n${r.stdout}`);
        }
        pull[d.key].push(r.ms);
        await d.cli(["rmi", ref]);
      }
    }

    // The daemons go now (their containers with them), so that the clean-up stays short.
    await Promise.all(both.map((d) => d.stop()));

    return {
      suite: "dockerd",
      ours: `berth dockerd (${oursLabel})`,
      peer: "dockerd 20.10",
      notes: [
        `peer: Debian's docker.io 20.10 dockerd with the containerd 1.6 it manages and runc, ` +
        `storage driver ${driver}, no bridge, no iptables`,
        `client: the real Docker CLI 20.10 (${DOCKER}) for run and pull`,
        `docker run: ${runs} runs after ${opts.warmup} warm-up, interleaved`,
        `list: ${nContainers} containers created (not started); ${windows} windows of ${seconds} s ` +
        `each, ${concurrency} keep-alive connections (Deno fetch over the unix socket); ` +
        `req/s, higher is better`,
        `pull: ${pullRuns} runs, image removed after each; random (incompressible) gzip layers ` +
        `from docker-registry on 127.0.0.1`,
      ],
      metrics: [run, list, pull],
    };
  },
};

export default suite;

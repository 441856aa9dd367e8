/**
 * Container commands side by side with the real Docker CLI against the same
 * test double: the same requests (method, path, query), the same output and
 * exit status.
 */
import assert from "node:assert/strict";
import {
  type FakeEngine,
  fakeEngine,
  type Recorded,
  type Route,
  runCli,
  runRealDocker,
} from "../tests/helpers/fake_engine.ts";
import { frame } from "./stdcopy.ts";

const now = Math.floor(Date.now() / 1000);

/** GET /containers/json items as the API reference shows them. */
const SUMMARIES = [
  {
    Id: "8dfafdbc3a40aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    Names: ["/boring_feynman"],
    Image: "ubuntu:latest",
    ImageID: "sha256:d74508fb6632491cea586a1fd7d748dfc5274cd6fdfedee309ecdcbc2bf5cb82",
    Command: "echo 1 && sleep 1000 && echo done",
    Created: now - 3 * 86400,
    State: "running",
    Status: "Up 3 days",
    Ports: [{ PrivatePort: 2222, PublicPort: 3333, Type: "tcp", IP: "0.0.0.0" }, {
      PrivatePort: 53,
      Type: "udp",
    }],
    Labels: { "com.example.vendor": "Acme", "com.example.license": "GPL" },
    SizeRw: 12288,
    SizeRootFs: 0,
    HostConfig: { NetworkMode: "default" },
    NetworkSettings: { Networks: { bridge: {} } }, // one: Go lists a map in random order
    Mounts: [{
      Name: "fac362...80535",
      Source: "/data",
      Destination: "/data",
      Driver: "local",
      Mode: "ro,Z",
      RW: false,
      Propagation: "",
      Type: "volume",
    }],
  },
  {
    Id: "9cd87474be90bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    Names: ["/coolName", "/other/link"],
    Image: "sha256:d74508fb6632491cea586a1fd7d748dfc5274cd6fdfedee309ecdcbc2bf5cb82",
    ImageID: "sha256:d74508fb6632491cea586a1fd7d748dfc5274cd6fdfedee309ecdcbc2bf5cb82",
    Command: "sh",
    Created: now - 7200,
    State: "exited",
    Status: "Exited (0) 2 hours ago",
    Ports: [],
    Labels: {},
    SizeRw: 0,
    SizeRootFs: 1048576,
    HostConfig: { NetworkMode: "none" },
    NetworkSettings: { Networks: { none: {} } },
    Mounts: [],
  },
];

/** Containers named "bad..." do not exist. */
function byName(ok: Route): Route {
  return (req: Recorded) => {
    const name = decodeURIComponent(req.path.split("/")[2]);
    if (name.startsWith("bad")) {
      return { status: 404, json: { message: `No such container: ${name}` } };
    }
    return typeof ok === "function" ? ok(req) : ok;
  };
}

const ROUTES: Record<string, Route> = {
  "GET /containers/json": { json: SUMMARIES },
  "POST /containers/{id}/stop": byName({ status: 204 }),
  "POST /containers/{id}/restart": byName({ status: 204 }),
  "POST /containers/{id}/kill": byName({ status: 204 }),
  "POST /containers/{id}/pause": byName({ status: 204 }),
  "POST /containers/{id}/unpause": byName({ status: 204 }),
  "POST /containers/{id}/start": byName({ status: 204 }),
  "POST /containers/{id}/wait": byName({ json: { StatusCode: 7, Error: null } }),
  "POST /containers/{id}/rename": byName({ status: 204 }),
  "DELETE /containers/{id}": byName({ status: 204 }),
};

function requests(reqs: Recorded[]): string[] {
  return reqs.filter((r) => r.path !== "/_ping").map((r) => {
    const q = [...r.query.entries()].sort().map(([k, v]) => `${k}=${v}`).join("&");
    return `${r.method} ${r.path}?${q}`;
  });
}

/** Multi-container commands work in parallel in the Docker CLI: their order is not part of the contract. */
async function compare(e: FakeEngine, args: string[], ordered = args.length < 3) {
  const before = e.requests.length;
  const theirs = await runRealDocker(e, args);
  const mid = e.requests.length;
  const ours = await runCli(e, args);
  const what = args.join(" ");
  assert.equal(ours.stdout, theirs.stdout, `stdout of ${what}`);
  assert.equal(ours.stderr, theirs.stderr, `stderr of ${what}`);
  assert.equal(ours.code, theirs.code, `status of ${what}`);
  const sort = (l: string[]) => ordered ? l : l.sort();
  assert.deepEqual(
    sort(requests(e.requests.slice(mid))),
    sort(requests(e.requests.slice(before, mid))),
    `requests of ${what}`,
  );
}

Deno.test("ps: columns, truncation, quiet, sizes, filters, formats", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["ps"],
        ["ps", "-a"],
        ["ps", "-q"],
        ["ps", "--no-trunc"],
        ["ps", "-s"],
        ["ps", "-n", "2"],
        ["ps", "-l"],
        ["ps", "-aq", "--filter", "status=exited", "--filter", "label=a=b"],
        ["ps", "--format", '{{.Names}} {{.Label "com.example.vendor"}} {{.Networks}}'],
        ["ps", "--format", "table {{.ID}}\\t{{.Labels}}\\t{{.Mounts}}\\t{{.LocalVolumes}}"],
        ["ps", "--format", "table {{.Names}}\t{{.Size}}\t{{.State}}"],
        ["ps", "--format", "{{.CreatedAt}}|{{.Image}}|{{.Command}}"],
        ["ps", "--format", "{{.Nope}}"],
        ["ps", "--format", "{{.Names"],
        ["ps", "-f", "nofilter"],
        ["ps", "extra"],
        ["ps", "--format", 'table {{.Label "com.example.vendor"}}\t{{upper .Names}}'],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("ps --format json: one object per container with every field", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    const theirs = await runRealDocker(e, ["ps", "--format", "json"]);
    const ours = await runCli(e, ["ps", "--format", "json"]);
    const parse = (s: string) => s.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(parse(ours.stdout), parse(theirs.stdout));
  } finally {
    await e.close();
  }
});

Deno.test("stop, restart, kill, rm, pause, unpause, wait, start, rename", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["stop", "good", "bad"],
        ["stop", "-t", "5", "-s", "SIGINT", "good"],
        ["restart", "-t", "3", "good", "bad2"],
        ["kill", "-s", "HUP", "good", "bad"],
        ["kill", "good"],
        ["rm", "good", "bad"],
        ["rm", "-f", "good", "bad"],
        ["rm", "-fv", "good"],
        ["pause", "good"],
        ["unpause", "bad"],
        ["wait", "good", "bad"],
        ["start", "good", "bad", "bad2"],
        ["start", "good"],
        ["rename", "good", "new"],
        ["rename", "bad", "new"],
        ["rename", " ", "x"],
        ["container", "stop", "good"],
        ["container", "ls", "-q"],
        ["stop"],
        ["kill", "-z", "x"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

const INSPECT = {
  Id: "abc123",
  Created: "2024-01-01T00:00:00Z",
  Name: "/foo",
  State: {
    Status: "running",
    Running: true,
    Paused: false,
    Restarting: false,
    Pid: 42,
    ExitCode: 0,
  },
  Config: { Tty: false, OpenStdin: true, Env: ["A=1", "B=2"], Labels: { "com.x": "y" } },
  HostConfig: { NetworkMode: "none" },
};

const STREAM_ROUTES: Record<string, Route> = {
  "GET /containers/{id}/json": byName({ json: INSPECT }),
  "GET /images/{id}/json": (r) =>
    r.path.includes("busybox")
      ? { json: { Id: "sha256:img", RepoTags: ["busybox:latest"], Size: 4 } }
      : { status: 404, json: { message: `No such image: ${r.path.split("/")[2]}` } },
  "GET /networks/{id}": { status: 404, json: { message: "network not found" } },
  "GET /volumes/{id}": { status: 404, json: { message: "no such volume" } },
  "GET /plugins/{id}/json": { status: 404, json: { message: "plugin not found" } },
  "GET /info": { json: { Swarm: { ControlAvailable: false } } },
  "GET /containers/{id}/logs": {
    body: new Uint8Array([...frame(1, "out\n"), ...frame(2, "err\n"), ...frame(1, "more\n")]),
  },
  "POST /containers/{id}/exec": { status: 201, json: { Id: "execid" } },
  "POST /exec/{id}/start": (r) =>
    r.json().Detach ? { status: 200 } : {
      hijack: async (c) => {
        await c.write(frame(1, "exec out\n"));
        await c.write(frame(2, "exec err\n"));
      },
    },
  "GET /exec/{id}/json": { json: { ExitCode: 4, Running: false } },
  "POST /containers/{id}/wait": byName({ json: { StatusCode: 5 } }),
  "POST /containers/{id}/attach": {
    hijack: async (c) => {
      await c.write(frame(1, "attached\n"));
    },
  },
  "GET /containers/{id}/top": {
    json: {
      Titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
      Processes: [
        ["root", "13642", "882", "0", "17:03", "pts/0", "00:00:00", "/bin/bash"],
        ["root", "13735", "13642", "0", "17:06", "pts/0", "00:00:00", "sleep 10"],
      ],
    },
  },
};

Deno.test("logs, exec, attach, top: requests, demultiplexed output, statuses", async () => {
  const e = await fakeEngine(STREAM_ROUTES);
  try {
    for (
      const args of [
        ["logs", "foo"],
        ["logs", "-f", "-t", "--tail", "5", "--since", "2024-01-01T10:00:00Z", "--details", "foo"],
        ["logs", "bad"],
        ["exec", "-e", "A=1", "-u", "root", "-w", "/tmp", "foo", "ls", "-l"],
        ["exec", "-d", "foo", "sleep", "1"],
        ["exec", "--privileged", "foo", "sh", "-c", "exit 4"],
        ["exec", "bad", "ls"],
        ["exec", "foo"],
        ["attach", "foo"],
        ["attach", "--no-stdin", "foo"],
        ["top", "foo"],
        ["top", "foo", "aux", "-o", "pid"],
      ]
    ) await compare(e, args, true);
  } finally {
    await e.close();
  }
});

Deno.test("inspect: auto-detected types, --type, formats, missing objects", async () => {
  const e = await fakeEngine(STREAM_ROUTES);
  try {
    for (
      const args of [
        ["inspect", "foo"],
        ["inspect", "--format", "json", "foo"],
        ["inspect", "-f", "{{.Name}} {{.State.Pid}} {{json .Config.Env}}", "foo", "bad", "foo"],
        ["inspect", "-f", '{{.Nope}}|{{.State}}|{{index .Config.Labels "com.x"}}', "foo"],
        ["inspect", "-f", "{{range .Config.Env}}[{{.}}]{{end}}", "foo"],
        ["inspect", "-f", "{{.Foo", "foo"],
        ["inspect", "bad"],
        ["inspect", "busybox"],
        ["inspect", "-s", "foo"],
        ["inspect", "--type", "image", "busybox", "nope"],
        ["inspect", "--type", "container", "bad"],
        ["inspect", "--type", "nope", "bad"],
        ["container", "inspect", "foo", "bad"],
        ["image", "inspect", "--format", "{{.Id}}", "busybox"],
        ["image", "inspect", "--platform", "linux/amd64", "busybox"],
      ]
    ) await compare(e, args, true);
  } finally {
    await e.close();
  }
});

/** GET /containers/{id}/stats as the API reference shows it (cgroup v1). */
const STATS = {
  read: "2024-01-01T00:00:01Z",
  preread: "2024-01-01T00:00:00Z",
  pids_stats: { current: 3 },
  networks: { eth0: { rx_bytes: 5338, tx_bytes: 648 }, eth5: { rx_bytes: 4641, tx_bytes: 0 } },
  memory_stats: { stats: { total_inactive_file: 1000000 }, usage: 6537216, limit: 67108864 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 81920 },
    ],
  },
  cpu_stats: {
    cpu_usage: { percpu_usage: [8646879, 24472255], total_usage: 400215355 },
    system_cpu_usage: 9492340000000,
    online_cpus: 2,
  },
  precpu_stats: {
    cpu_usage: { percpu_usage: [8646879, 24350896], total_usage: 100093996 },
    system_cpu_usage: 9492140000000,
    online_cpus: 2,
  },
  name: "/boring_feynman",
  id: "8dfafdbc3a40" + "a".repeat(52),
};

Deno.test("stats --no-stream: figures, columns, formats, errors", async () => {
  const e = await fakeEngine({
    "GET /containers/json": { json: [{ ...SUMMARIES[0], Id: STATS.id }] },
    "GET /containers/{id}/stats": byName({ json: STATS }),
    "GET /events": { chunks: [] },
  });
  try {
    for (
      const args of [
        ["stats", "--no-stream"],
        ["stats", "--no-stream", "foo"],
        ["stats", "--no-stream", "foo", "bad"],
        ["stats", "--no-stream", "--format", "json", "foo"],
        ["stats", "--no-stream", "--no-trunc", "-a"],
        [
          "stats",
          "--no-stream",
          "--format",
          "table {{.Container}}\t{{.CPUPerc}}\t{{.MemPerc}}",
          "foo",
        ],
      ]
    ) await compare(e, args, args.length < 4);
  } finally {
    await e.close();
  }
});

Deno.test("TCP daemons: -H tcp://, DOCKER_HOST, and a dead port's message", async () => {
  const e = await fakeEngine(ROUTES, { tcp: true });
  try {
    await compare(e, ["ps", "-a"]);
    const main = new URL("../main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "docker", "ps", "-q"],
      env: { DOCKER_HOST: e.host, DOCKER_CONFIG: `${e.dir}/cfg` },
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout), "8dfafdbc3a40\n9cd87474be90\n");
    const host = e.host.replace(/:\d+$/, ":1");
    const theirs = await runRealDocker({ ...e, host }, ["ps"]);
    const ours = await runCli({ ...e, host }, ["ps"]);
    assert.equal(ours.stderr, theirs.stderr);
    assert.equal(ours.code, theirs.code);
  } finally {
    await e.close();
  }
});

Deno.test("stats streaming: redraws every half second as the real CLI writes them", async () => {
  const sample = JSON.stringify(STATS) + "\n";
  const e = await fakeEngine({
    "GET /containers/{id}/stats": () => ({ chunks: [sample, new Promise(() => {})] }),
  });
  const main = new URL("../main.ts", import.meta.url).pathname;
  const capture = async (argv: string[]) => {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdout: "piped",
      stderr: "null",
      env: { DOCKER_CONFIG: `${e.dir}/cfg` },
    }).spawn();
    setTimeout(() => child.kill("SIGKILL"), 1300);
    return new TextDecoder().decode((await child.output()).stdout);
  };
  try {
    const theirs = await capture(["docker", "-H", e.host, "stats", "foo"]);
    const ours = await capture([
      Deno.execPath(),
      "run",
      "-A",
      main,
      "docker",
      "-H",
      e.host,
      "stats",
      "foo",
    ]);
    // Both drew at least one frame; the first frames are the same bytes.
    const first = (s: string) => s.slice(0, s.indexOf("\x1b[J") + 3);
    assert.ok(theirs.includes("\x1b[J") && ours.includes("\x1b[J"));
    assert.equal(first(ours), first(theirs));
  } finally {
    await e.close();
  }
});

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

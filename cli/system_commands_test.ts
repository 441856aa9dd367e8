/**
 * events, system df, the prune commands, and the CLI's own behaviour (help,
 * unknown commands and flags, global options) side by side with the real
 * Docker CLI against the same test double.
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

const EVENTS = [
  '{"Type":"container","Action":"create","Actor":{"ID":"abc123","Attributes":{"image":"busybox","name":"foo"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}',
  '{"Type":"container","Action":"start","Actor":{"ID":"abc123","Attributes":{"name":"foo","image":"busybox"}},"scope":"local","time":1700000001,"timeNano":1700000001000000000}',
  '{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc123","Attributes":{"exitCode":"0"}},"scope":"local","time":1700000002,"timeNano":1700000002500000000}',
  '{"Type":"image","Action":"pull","Actor":{"ID":"busybox:latest","Attributes":{}},"scope":"local","time":1700000003}',
];

const DF = {
  LayersSize: 1092588,
  Images: [{
    Id: "sha256:" + "a".repeat(64),
    ParentId: "",
    RepoTags: ["busybox:latest"],
    RepoDigests: [],
    Created: 1700000000,
    Size: 4261550,
    SharedSize: 0,
    Labels: {},
    Containers: 1,
  }],
  Containers: [{
    Id: "e575172ed11d" + "0".repeat(52),
    Names: ["/foo"],
    Image: "busybox",
    ImageID: "sha256:" + "a".repeat(64),
    Command: "top",
    Created: 1700000000,
    Ports: [],
    SizeRw: 1024,
    SizeRootFs: 4261550,
    Labels: {},
    State: "exited",
    Status: "Exited (0) 2 days ago",
    HostConfig: { NetworkMode: "default" },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  }],
  Volumes: [],
  BuildCache: [],
};

const ROUTES: Record<string, Route> = {
  "GET /events": {
    chunks: EVENTS.map((e) => e + "\n"),
    headers: { "Content-Type": "application/json" },
  },
  "GET /system/df": { json: DF },
  "POST /containers/prune": {
    json: { ContainersDeleted: ["a".repeat(64), "b".repeat(64)], SpaceReclaimed: 109 },
  },
  "POST /images/prune": {
    json: {
      ImagesDeleted: [{ Untagged: "busybox:old" }, { Deleted: "sha256:" + "c".repeat(64) }],
      SpaceReclaimed: 4261550,
    },
  },
  "POST /networks/prune": { json: { NetworksDeleted: null } },
  "POST /build/prune": { json: { CachesDeleted: null, SpaceReclaimed: 0 } },
  "POST /volumes/prune": { json: { VolumesDeleted: ["v1"], SpaceReclaimed: 10 } },
};

function requests(reqs: Recorded[]): string[] {
  return reqs.filter((r) => r.path !== "/_ping").map((r) => {
    const q = [...r.query.entries()].sort().map(([k, v]) => `${k}=${v}`).join("&");
    return `${r.method} ${r.path}?${q}`;
  });
}

async function compare(e: FakeEngine, args: string[], opts: { stdin?: string } = {}) {
  const before = e.requests.length;
  const theirs = await runRealDocker(e, args, opts);
  const mid = e.requests.length;
  const ours = await runCli(e, args, opts);
  const what = args.join(" ");
  // --until 10m is "now - 10 minutes": the two clients ask a second apart at most.
  const norm = (l: string[]) => l.map((s) => s.replace(/until=\d+/, "until=N"));
  assert.equal(ours.stdout, theirs.stdout, `stdout of ${what}`);
  assert.equal(ours.stderr, theirs.stderr, `stderr of ${what}`);
  assert.equal(ours.code, theirs.code, `status of ${what}`);
  assert.deepEqual(
    norm(requests(e.requests.slice(mid))),
    norm(requests(e.requests.slice(before, mid))),
    `requests of ${what}`,
  );
}

Deno.test("events: lines, filters, since/until, templates", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["events"],
        [
          "events",
          "--since",
          "2023-01-01",
          "--until",
          "10m",
          "--filter",
          "type=container",
          "--filter",
          "event=start",
        ],
        ["events", "--format", "{{.Type}}:{{.Action}}:{{.Actor.ID}}:{{.Status}}"],
        ["events", "--format", "{{json .}}"],
        ["events", "--since", "yesterday"],
        ["system", "events", "--until", "1700000000"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("system df: summary, verbose, formats", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["system", "df"],
        ["system", "df", "-v"],
        ["system", "df", "--format", "json"],
        ["system", "df", "--format", "{{.Type}}:{{.Size}}:{{.Reclaimable}}:{{.Active}}"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("prune: prompts, answers, filters, reports", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (const stdin of ["y\n", "n\n", ""]) {
      for (
        const args of [
          ["system", "prune"],
          ["container", "prune"],
          ["image", "prune"],
          ["image", "prune", "-a"],
          ["system", "prune", "-a", "--volumes"],
          ["system", "prune", "--filter", "until=24h"],
        ]
      ) await compare(e, args, { stdin });
    }
    for (
      const args of [
        ["system", "prune", "-f"],
        ["system", "prune", "-af", "--volumes", "--filter", "label=a=b"],
        ["container", "prune", "-f", "--filter", "until=1h"],
        ["image", "prune", "-af"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("the CLI itself: help pages, unknown commands and flags, argument counts", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["foo"],
        ["--foo"],
        ["ps", "--foo"],
        ["run", "-z", "busybox"],
        ["rename", "a"],
        ["logs"],
        ["tag", "a"],
        ["exec", "a"],
        ["version", "x"],
        ["cp", "a"],
        ["system"],
        ["system", "foo"],
        ["login", "a", "b"],
        ["wait"],
        ["top"],
        ["save"],
        ["load", "x"],
        ["system", "df", "x"],
        ["images", "a", "b"],
        ["ps", "-n"],
        ["-l", "foo", "ps"],
        ["-H", "unix:///a", "-H", "unix:///b", "ps"],
        ["--context", "nope", "ps"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("management commands list a subset of the real CLI's subcommands, in its layout", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (const group of ["container", "image", "system"]) {
      const theirs = (await runRealDocker(e, [group, "--help"])).stdout.split("\n");
      const ours = (await runCli(e, [group, "--help"])).stdout.split("\n");
      assert.deepEqual(ours.filter((l) => !theirs.includes(l)), [], group);
      assert.deepEqual(theirs.slice(0, 5), ours.slice(0, 5));
    }
  } finally {
    await e.close();
  }
});

Deno.test("docker --help: a subset of the real CLI's page, every line as it prints it", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    const theirs = (await runRealDocker(e, ["--help"])).stdout.split("\n");
    const ours = (await runCli(e, ["--help"])).stdout
      .replaceAll(`${e.dir}/config`, `${e.dir}/real-config`).split("\n");
    assert.deepEqual(ours.filter((l) => !theirs.includes(l)), []);
    // In the same order.
    assert.deepEqual(theirs.filter((l) => l && ours.includes(l)), ours.filter((l) => l));
  } finally {
    await e.close();
  }
});

/** Every command's help, as the real CLI prints it. */
const HELP = [
  "attach",
  "cp",
  "create",
  "events",
  "exec",
  "images",
  "info",
  "inspect",
  "kill",
  "load",
  "login",
  "logout",
  "logs",
  "pause",
  "ps",
  "pull",
  "rename",
  "restart",
  "rm",
  "rmi",
  "run",
  "save",
  "start",
  "stats",
  "stop",
  "tag",
  "top",
  "unpause",
  "version",
  "wait",
  "container inspect",
  "container prune",
  "container ls",
  "image inspect",
  "image prune",
  "image ls",
  "image rm",
  "system df",
  "system prune",
  "system events",
  "system info",
];

Deno.test("help pages match the real CLI's", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (const c of HELP) {
      const args = [...c.split(" "), "--help"];
      const theirs = await runRealDocker(e, args);
      const ours = await runCli(e, args);
      assert.equal(ours.stdout, theirs.stdout, `docker ${c} --help`);
      assert.equal(ours.code, theirs.code);
    }
  } finally {
    await e.close();
  }
});

/**
 * Image and registry commands side by side with the real Docker CLI against
 * the same test double: pull, images, rmi, tag, save, load, login, logout.
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
const IMAGES = [
  {
    Id: "sha256:" + "a".repeat(64),
    ParentId: "",
    RepoTags: ["busybox:latest", "busybox:1.36"],
    RepoDigests: ["busybox@sha256:" + "b".repeat(64)],
    Created: now - 86400 * 10,
    Size: 4261550,
    SharedSize: -1,
    VirtualSize: 4261550,
    Labels: {},
    Containers: -1,
  },
  {
    Id: "sha256:" + "c".repeat(64),
    ParentId: "",
    RepoTags: [],
    RepoDigests: ["alpine@sha256:" + "d".repeat(64)],
    Created: now - 3600 * 5,
    Size: 7800000,
    SharedSize: -1,
    Labels: null,
    Containers: 2,
  },
  {
    Id: "sha256:" + "e".repeat(64),
    ParentId: "",
    RepoTags: ["<none>:<none>"],
    RepoDigests: ["<none>@<none>"],
    Created: now - 60,
    Size: 1234,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  },
  {
    Id: "sha256:" + "f".repeat(64),
    ParentId: "",
    RepoTags: ["localhost:5000/my/app:v1"],
    RepoDigests: [],
    Created: now - 86400 * 400,
    Size: 123456789,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  },
];

const PULL_STREAM = [
  { status: "Pulling from library/busybox", id: "latest" },
  { status: "Pulling fs layer", progressDetail: {}, id: "aaa" },
  { status: "Downloading", progressDetail: { current: 100, total: 2000 }, id: "aaa" },
  { status: "Download complete", progressDetail: {}, id: "aaa" },
  { status: "Pull complete", progressDetail: {}, id: "aaa" },
  { status: "Digest: sha256:abc" },
  { status: "Status: Downloaded newer image for busybox:latest" },
].map((l) => JSON.stringify(l) + "\r\n");

const ROUTES: Record<string, Route> = {
  "GET /images/json": { json: IMAGES },
  "POST /images/create": (r) =>
    r.query.get("fromImage")?.includes("private")
      ? {
        chunks: [
          JSON.stringify({ status: "Pulling from private/x", id: "latest" }) + "\r\n",
          JSON.stringify({
            errorDetail: { message: "pull access denied for private/x" },
            error: "pull access denied for private/x",
          }) + "\r\n",
        ],
        headers: { "Content-Type": "application/json" },
      }
      : { chunks: PULL_STREAM, headers: { "Content-Type": "application/json" } },
  "DELETE /images/{id}": (r) =>
    r.path.includes("bad") ? { status: 404, json: { message: "No such image: bad:latest" } } : {
      json: [
        { Untagged: "busybox:latest" },
        { Untagged: "busybox@sha256:" + "b".repeat(64) },
        { Deleted: "sha256:" + "a".repeat(64) },
      ],
    },
  "POST /images/{id}/tag": (r) =>
    r.path.includes("bad")
      ? { status: 404, json: { message: "No such image: bad:latest" } }
      : { status: 201 },
  "GET /images/get": { body: "TARDATA" },
  "POST /images/load": {
    chunks: [JSON.stringify({ stream: "Loaded image: busybox:latest\n" }) + "\r\n"],
    headers: { "Content-Type": "application/json" },
  },
  "POST /auth": (r) =>
    r.json().password === "good" ? { json: { Status: "Login Succeeded", IdentityToken: "" } } : {
      status: 401,
      json: { message: 'Get "https://registry/v2/": unauthorized: incorrect username or password' },
    },
};

function requests(reqs: Recorded[]): string[] {
  return reqs.filter((r) => r.path !== "/_ping").map((r) => {
    const q = [...r.query.entries()].sort().map(([k, v]) => `${k}=${v}`).join("&");
    const auth = r.headers.get("x-registry-auth");
    return `${r.method} ${r.path}?${q}${auth ? ` auth=${auth}` : ""} ${r.text()}`;
  });
}

async function compare(e: FakeEngine, args: string[], opts: { stdin?: string } = {}) {
  const before = e.requests.length;
  const theirs = await runRealDocker(e, args, opts);
  const mid = e.requests.length;
  const ours = await runCli(e, args, opts);
  const what = args.join(" ");
  assert.equal(ours.stdout, theirs.stdout, `stdout of ${what}`);
  assert.equal(ours.stderr, theirs.stderr, `stderr of ${what}`);
  assert.equal(ours.code, theirs.code, `status of ${what}`);
  assert.deepEqual(
    requests(e.requests.slice(mid)),
    requests(e.requests.slice(before, mid)),
    `requests of ${what}`,
  );
}

Deno.test("images: rows per tag and digest, truncation, quiet, formats, reference filter", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["images"],
        ["images", "-a", "--digests"],
        ["images", "-q"],
        ["images", "--no-trunc"],
        ["images", "busybox"],
        ["images", "--filter", "dangling=true"],
        ["images", "--format", "{{.Repository}}:{{.Tag}}:{{.Containers}}:{{.Digest}}"],
        [
          "images",
          "--format",
          "table {{.ID}}\\t{{.VirtualSize}}\\t{{.SharedSize}}\\t{{.UniqueSize}}",
        ],
        ["images", "--format", "{{.CreatedAt}}"],
        ["image", "ls", "--format", "{{.Nope}}"],
        ["images", "a", "b"],
      ]
    ) await compare(e, args);
    const theirs = await runRealDocker(e, ["images", "--format", "json"]);
    const ours = await runCli(e, ["images", "--format", "json"]);
    assert.equal(ours.stdout, theirs.stdout);
  } finally {
    await e.close();
  }
});

Deno.test("pull: default tag, digests, -a, -q, errors in the stream, bad references", async () => {
  const e = await fakeEngine(ROUTES);
  try {
    for (
      const args of [
        ["pull", "busybox"],
        ["pull", "-q", "busybox:1.36"],
        ["pull", "-a", "busybox"],
        ["pull", "busybox:1.36@sha256:" + "a".repeat(64)],
        ["pull", "localhost:5000/x"],
        ["pull", "Busybox"],
        ["pull", "-a", "busybox:tag"],
        ["pull", "private/x"],
        ["pull", "--platform", "linux/arm64", "busybox"],
      ]
    ) await compare(e, args);
  } finally {
    await e.close();
  }
});

Deno.test("rmi, tag, save, load", async () => {
  const e = await fakeEngine(ROUTES);
  const dir = await Deno.makeTempDir();
  try {
    for (
      const args of [
        ["rmi", "busybox", "bad"],
        ["rmi", "-f", "--no-prune", "busybox"],
        ["image", "rm", "busybox"],
        ["tag", "busybox", "myrepo/x:v2"],
        ["tag", "bad", "x"],
        ["tag", "busybox", "BAD"],
        ["tag", "busybox", "localhost:5000/a/b"],
        ["save", "busybox"],
        ["save", "-o", `${dir}/s.tar`, "busybox", "alpine"],
        ["load", "-i", `${dir}/s.tar`],
        ["load", "-q", "-i", `${dir}/s.tar`],
        ["load", "-i", `${dir}/none.tar`],
      ]
    ) await compare(e, args);
    assert.equal(Deno.readTextFileSync(`${dir}/s.tar`), "TARDATA");
    await compare(e, ["load"], { stdin: "TARDATA" });
  } finally {
    await e.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("login and logout write config.json as the real CLI does", async () => {
  const e = await fakeEngine(ROUTES);
  const steps: [string[], string?][] = [
    [["login", "-u", "user", "-p", "good", "myreg.example:5000"]],
    [["login", "-u", "user", "--password-stdin", "myreg.example:5000"], "good\n"],
    [["login", "-u", "user", "-p", "bad", "myreg.example:5000"]],
    [["login", "myreg.example:5000"]],
    [["login", "-u", "user", "-p", "good"]],
    [["login", "other.example"]],
    [["logout", "myreg.example:5000"]],
    [["logout"]],
    [["logout", "never.example"]],
  ];
  try {
    for (const [args, stdin] of steps) {
      const before = e.requests.length;
      const theirs = await runRealDocker(e, args, { stdin });
      const mid = e.requests.length;
      const ours = await runCli(e, args, { stdin });
      const what = args.join(" ");
      const norm = (s: string) =>
        s.replaceAll(`${e.dir}/real-config`, "CONFIG").replaceAll(`${e.dir}/config`, "CONFIG");
      assert.equal(ours.stdout, theirs.stdout, what);
      assert.equal(norm(ours.stderr), norm(theirs.stderr), what);
      assert.equal(ours.code, theirs.code, what);
      assert.deepEqual(
        requests(e.requests.slice(mid)),
        requests(e.requests.slice(before, mid)),
        what,
      );
      const read = (d: string) => {
        try {
          return Deno.readTextFileSync(`${d}/config.json`);
        } catch {
          return "(none)";
        }
      };
      assert.equal(
        read(`${e.dir}/config`),
        read(`${e.dir}/real-config`),
        `config.json after ${what}`,
      );
    }
    assert.equal(Deno.statSync(`${e.dir}/config/config.json`).mode! & 0o777, 0o600);
  } finally {
    await e.close();
  }
});

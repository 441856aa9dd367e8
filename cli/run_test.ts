/**
 * run and create: the requests they send (compared with the real Docker
 * CLI's against the same test double) and how they end.
 */
import assert from "node:assert/strict";
import {
  fakeEngine,
  type Recorded,
  type Route,
  runCli,
  runRealDocker,
} from "../tests/helpers/fake_engine.ts";
import { frame, STDERR, STDOUT } from "./stdcopy.ts";

const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const PULL_STREAM = [
  { status: "Pulling from library/busybox", id: "latest" },
  { status: "Pulling fs layer", progressDetail: {}, id: "aaa" },
  { status: "Downloading", progressDetail: { current: 100, total: 2000 }, id: "aaa" },
  { status: "Download complete", progressDetail: {}, id: "aaa" },
  { status: "Pull complete", progressDetail: {}, id: "aaa" },
  { status: "Digest: sha256:abc" },
  { status: "Status: Downloaded newer image for busybox:latest" },
].map((l) => JSON.stringify(l) + "\r\n");

/** A daemon double for run: the image is missing until pulled; the container prints and exits 3. */
function runRoutes(): Record<string, Route> {
  let pulled = false;
  return {
    "POST /images/create": () => {
      pulled = true;
      return { chunks: PULL_STREAM };
    },
    "POST /containers/create": () =>
      pulled
        ? { status: 201, json: { Id: ID, Warnings: ["a warning"] } }
        : { status: 404, json: { message: "No such image: busybox:latest" } },
    "POST /containers/{id}/attach": {
      hijack: async (c) => {
        await c.write(frame(STDOUT, "hi\n"));
        await c.write(frame(STDERR, "oops\n"));
      },
    },
    "POST /containers/{id}/wait": { json: { StatusCode: 3, Error: null } },
    "POST /containers/{id}/start": { status: 204 },
  };
}

function sortedEnv(body: Record<string, any>) {
  return { ...body, Env: [...(body.Env ?? [])].sort() };
}

/** Every field we send must be what the real CLI sends. */
function assertSubset(ours: any, theirs: any, path = "") {
  if (ours === null || typeof ours !== "object" || Array.isArray(ours)) {
    assert.deepEqual(ours, theirs, `at ${path || "."}`);
    return;
  }
  for (const k of Object.keys(ours)) assertSubset(ours[k], theirs?.[k], `${path}.${k}`);
}

const createBody = (reqs: Recorded[]) =>
  reqs.filter((r) => r.path === "/containers/create").at(-1)!.json();

Deno.test("create sends the body the real CLI sends for the same flags", async () => {
  const e = await fakeEngine({
    "POST /containers/create": { status: 201, json: { Id: ID, Warnings: [] } },
  });
  try {
    const flagSets = [
      ["busybox"],
      [
        "--name",
        "foo",
        "-e",
        "A=1",
        "-e",
        "HOME",
        "-e",
        "NOPE_UNSET",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "busybox",
        "sh",
        "-c",
        "echo hi",
      ],
      [
        "-m",
        "64m",
        "--cpus",
        "1.5",
        "--pids-limit",
        "10",
        "--cap-add",
        "net_admin",
        "--cap-drop",
        "ALL",
        "--read-only",
        "--restart",
        "on-failure:3",
        "--network",
        "none",
        "-t",
        "-i",
        "--privileged",
        "--init",
        "busybox",
      ],
      [
        "--entrypoint",
        "/bin/sh",
        "-l",
        "a=b",
        "-l",
        "c",
        "-h",
        "myhost",
        "--stop-signal",
        "SIGUSR1",
        "--stop-timeout",
        "5",
        "-v",
        "/tmp:/mnt:ro",
        "-v",
        "/data",
        "--tmpfs",
        "/run:size=1m",
        "busybox",
        "-c",
        "true",
      ],
      [
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:53:53/udp",
        "--expose",
        "90-91",
        "--dns",
        "1.1.1.1",
        "--add-host",
        "a:1.2.3.4",
        "--log-opt",
        "max-size=1m",
        "--security-opt",
        "no-new-privileges",
        "--sysctl",
        "net.core.somaxconn=1024",
        "--ulimit",
        "nofile=100:200",
        "--shm-size",
        "1m",
        "--memory-swap",
        "-1",
        "--memory-reservation",
        "32m",
        "busybox",
      ],
      [
        "--network",
        "host",
        "--rm",
        "--entrypoint",
        "",
        "-a",
        "stdout",
        "--health-cmd",
        "true",
        "--health-interval",
        "5s",
        "--health-retries",
        "2",
        "--oom-score-adj",
        "100",
        "busybox",
      ],
    ];
    for (const flags of flagSets) {
      const before = e.requests.length;
      const theirs = await runRealDocker(e, ["create", ...flags]);
      assert.equal(theirs.code, 0, theirs.stderr);
      const theirBody = createBody(e.requests.slice(before));
      const theirQuery = e.requests.at(-1)!.query.toString();
      const mid = e.requests.length;
      const ours = await runCli(e, ["create", ...flags]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, theirs.stdout);
      const ourBody = createBody(e.requests.slice(mid));
      assert.equal(e.requests.at(-1)!.query.toString(), theirQuery);
      assertSubset(sortedEnv(ourBody), sortedEnv(theirBody), flags.join(" "));
    }
  } finally {
    await e.close();
  }
});

Deno.test("run: pull on a missing image, attach, wait, start, output, the container's status", async () => {
  const e1 = await fakeEngine(runRoutes());
  const e2 = await fakeEngine(runRoutes());
  try {
    const theirs = await runRealDocker(e1, ["run", "busybox"]);
    const ours = await runCli(e2, ["run", "busybox"]);
    assert.equal(ours.code, 3);
    assert.equal(ours.code, theirs.code);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.stderr, theirs.stderr);
    const seq = (reqs: Recorded[]) =>
      reqs.filter((r) => r.path !== "/_ping").map((r) =>
        `${r.method} ${r.path.replace(ID, "ID")}?${r.query}`
      );
    assert.deepEqual(seq(e2.requests), seq(e1.requests));
    const attach = e2.requests.find((r) => r.path.endsWith("/attach"))!;
    assert.equal(attach.headers.get("upgrade"), "tcp");
    assert.equal(attach.headers.get("connection"), "Upgrade");
    assert.equal(
      e2.requests.find((r) => r.path === "/images/create")!.headers.get("x-registry-auth"),
      "e30=",
    );
  } finally {
    await e1.close();
    await e2.close();
  }
});

Deno.test("run -d starts and prints the id; --rm waits for removal", async () => {
  const e = await fakeEngine({
    "POST /containers/create": { status: 201, json: { Id: ID, Warnings: null } },
    "POST /containers/{id}/start": { status: 204 },
    "POST /containers/{id}/wait": { json: { StatusCode: 0 } },
    "POST /containers/{id}/attach": { hijack: async () => {} },
  });
  try {
    const r = await runCli(e, ["run", "-d", "busybox", "sleep", "9"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ID + "\n");
    const body = createBody(e.requests);
    assert.equal(body.AttachStdout, false);
    assert.deepEqual(body.Cmd, ["sleep", "9"]);
    assert.deepEqual(e.calls().map((c) => c.path), [
      "/containers/create",
      `/containers/${ID}/start`,
    ]);

    const rm = await runCli(e, ["run", "--rm", "busybox"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(
      e.requests.find((r) => r.path.endsWith("/wait"))!.query.get("condition"),
      "removed",
    );
  } finally {
    await e.close();
  }
});

Deno.test("run: start failures map to 127 / 126 / 125 as the real CLI's", async () => {
  for (
    const [message, status] of [
      ['failed to create task: exec: "nope": executable file not found in $PATH', 127],
      ["failed to create task: exec: /etc: permission denied", 126],
      ["something else went wrong", 125],
    ] as const
  ) {
    const routes: Record<string, Route> = {
      "POST /containers/create": { status: 201, json: { Id: ID } },
      "POST /containers/{id}/attach": { hijack: async () => {} },
      "POST /containers/{id}/wait": { json: { StatusCode: 0 } },
      "POST /containers/{id}/start": { status: 400, json: { message } },
    };
    const e1 = await fakeEngine(routes), e2 = await fakeEngine(routes);
    try {
      const theirs = await runRealDocker(e1, ["run", "busybox", "nope"]);
      const ours = await runCli(e2, ["run", "busybox", "nope"]);
      assert.equal(ours.code, status);
      assert.equal(ours.code, theirs.code);
      assert.equal(ours.stderr, theirs.stderr);
    } finally {
      await e1.close();
      await e2.close();
    }
  }
});

Deno.test("run and create: option errors as the real CLI reports them", async () => {
  const e = await fakeEngine({});
  try {
    for (
      const args of [
        ["run", "-d", "-a", "stdout", "busybox"],
        ["run", "--rm", "--restart", "always", "busybox"],
        ["create", "--rm", "--restart", "always", "busybox"],
        ["run", "-a", "foo", "busybox"],
        ["run", "--memory-swappiness", "200", "busybox"],
        ["run", "--cpus", "x", "busybox"],
        ["run", "--restart", "on-failure:x", "busybox"],
        ["run", "--pid", "foo", "busybox"],
        ["run", "-p", "99999", "busybox"],
        ["run", "--env-file", "/nonexistent", "busybox"],
        ["run"],
        ["run", "--bogus", "busybox"],
        ["run", "-m", "lots", "busybox"],
      ]
    ) {
      const theirs = await runRealDocker(e, args);
      const ours = await runCli(e, args);
      assert.equal(ours.stderr, theirs.stderr, args.join(" "));
      assert.equal(ours.code, theirs.code, args.join(" "));
    }
    const tty = await runCli(e, ["run", "-it", "busybox"]);
    assert.equal(tty.stderr, "the input device is not a TTY\n");
    assert.equal(tty.code, 1);
  } finally {
    await e.close();
  }
});

Deno.test("run: the wait is registered before the start (a wait that answers only after it)", async () => {
  const started = Promise.withResolvers<void>();
  const e = await fakeEngine({
    "POST /containers/create": { status: 201, json: { Id: ID } },
    "POST /containers/{id}/attach": {
      hijack: async (c) => {
        await started.promise;
        await c.write(frame(STDOUT, "ran\n"));
      },
    },
    "POST /containers/{id}/wait": async () => {
      await started.promise;
      return { json: { StatusCode: 9 } };
    },
    "POST /containers/{id}/start": () => {
      started.resolve();
      return { status: 204 };
    },
  });
  try {
    const r = await runCli(e, ["run", "busybox"]);
    assert.equal(r.stdout, "ran\n");
    assert.equal(r.code, 9);
    const order = e.calls().map((c) => c.path.split("/").pop());
    assert.deepEqual(order, ["create", "attach", "wait", "start"]);
  } finally {
    await e.close();
  }
});

Deno.test("run without a TTY forwards the signals it receives (--sig-proxy)", async () => {
  const e = await fakeEngine({
    "POST /containers/create": { status: 201, json: { Id: ID } },
    "POST /containers/{id}/wait": { chunks: [new Promise(() => {})] },
    "POST /containers/{id}/start": { status: 204 },
    "POST /containers/{id}/kill": { status: 204 },
    "POST /containers/{id}/attach": { hijack: () => new Promise((r) => setTimeout(r, 4000)) },
  });
  const main = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "docker", "-H", e.host, "run", "busybox"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0; i < 100 && !e.requests.some((r) => r.path.endsWith("/start")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const sig of ["SIGUSR1", "SIGTERM", "SIGINT", "SIGHUP"] as const) {
      child.kill(sig);
      await new Promise((r) => setTimeout(r, 200));
    }
    const kills = e.requests.filter((r) => r.path.endsWith("/kill")).map((r) =>
      r.query.get("signal")
    );
    assert.deepEqual(kills, ["USR1", "TERM", "INT", "HUP"]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await e.close();
  }
});

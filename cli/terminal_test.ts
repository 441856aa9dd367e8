/**
 * run -it and exec -it on a real terminal (a pty made by util-linux's
 * `script`): stdin in raw mode reaches the container byte for byte, the TTY
 * is resized to the terminal, and ctrl-p ctrl-q detaches the client.
 */
import assert from "node:assert/strict";
import { BufferedConn } from "./http.ts";
import { fakeEngine, type Recorded } from "../tests/helpers/fake_engine.ts";

const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs berth's docker under a 30x100 pty; `input` is typed after `delayMs`. */
async function onTerminal(host: string, args: string[], input: string, delayMs = 1500) {
  const quoted = [Deno.execPath(), "run", "-A", MAIN, "docker", "-H", host, ...args]
    .map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qfec", `stty rows 30 cols 100; ${quoted}`, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DOCKER_CONFIG: "/nonexistent-berth-test" },
  }).spawn();
  const w = child.stdin.getWriter();
  await new Promise((r) => setTimeout(r, delayMs));
  await w.write(new TextEncoder().encode(input));
  // Keep stdin open: closing it would end the session before the detach is seen.
  const out = await child.output().catch(() => undefined);
  await w.close().catch(() => {});
  return { code: out?.code ?? -1, stdout: new TextDecoder().decode(out?.stdout) };
}

Deno.test("run -it: raw stdin to the container, resize, ctrl-p ctrl-q detaches", async () => {
  let received = new Uint8Array(0);
  const gotInput = Promise.withResolvers<void>();
  const e = await fakeEngine({
    "POST /containers/create": { status: 201, json: { Id: ID, Warnings: [] } },
    "POST /containers/{id}/wait": () => new Promise(() => {}), // the container never exits
    "POST /containers/{id}/start": { status: 204 },
    "POST /containers/{id}/resize": { status: 200 },
    "POST /containers/{id}/attach": {
      hijack: async (c: Deno.Conn, r: BufferedConn) => {
        await c.write(new TextEncoder().encode("/ # "));
        for (;;) {
          const chunk = await r.readSome().catch(() => null);
          if (!chunk) break;
          const merged = new Uint8Array(received.length + chunk.length);
          merged.set(received);
          merged.set(chunk, received.length);
          received = merged;
          if (received.includes(3)) gotInput.resolve();
        }
      },
    },
  });
  try {
    const r = await onTerminal(e.host, ["run", "-it", "busybox", "sh"], "ls\r\x03\x10x\x10\x11");
    assert.equal(r.code, 0, r.stdout);
    await gotInput.promise;
    // Raw mode: CR and ^C pass as bytes; the held-back ^P before "x" is passed on; ^P^Q is not.
    assert.deepEqual([...received], [...new TextEncoder().encode("ls\r\x03\x10x")]);
    assert.match(r.stdout, /\/ # /);
    const create = e.requests.find((q) => q.path === "/containers/create")!.json();
    assert.equal(create.Tty, true);
    assert.equal(create.OpenStdin, true);
    const resize = e.requests.find((q: Recorded) => q.path.endsWith("/resize"))!;
    assert.equal(resize.query.get("h"), "30");
    assert.equal(resize.query.get("w"), "100");
    const attach = e.requests.find((q) => q.path.endsWith("/attach"))!;
    assert.equal(attach.query.get("stdin"), "1");
  } finally {
    await e.close();
  }
});

Deno.test("exec -it: console size at creation, raw output, exit code", async () => {
  const e = await fakeEngine({
    "GET /containers/{id}/json": { json: { Id: ID, State: { Running: true }, Config: {} } },
    "POST /containers/{id}/exec": { status: 201, json: { Id: "exec1" } },
    "POST /exec/{id}/resize": { status: 200 },
    "POST /exec/{id}/start": {
      hijack: async (c: Deno.Conn, r: BufferedConn) => {
        await c.write(new TextEncoder().encode("hello from exec\r\n"));
        await r.readSome().catch(() => null);
      },
    },
    "GET /exec/{id}/json": { json: { ExitCode: 42, Running: false } },
  });
  try {
    const r = await onTerminal(e.host, ["exec", "-it", "foo", "sh"], "exit\r", 800);
    assert.equal(r.code, 42, r.stdout);
    assert.match(r.stdout, /hello from exec/);
    const body = e.requests.find((q) => q.path.endsWith("/exec"))!.json();
    assert.deepEqual(body.ConsoleSize, [30, 100]);
    assert.equal(body.Tty, true);
    assert.equal(body.AttachStdin, true);
    const start = e.requests.find((q) => q.path.endsWith("/start"))!.json();
    assert.deepEqual(start, { Detach: false, Tty: true, ConsoleSize: [30, 100] });
  } finally {
    await e.close();
  }
});

/** Runs `argv` under a pty of the given size and returns what it printed. */
async function ptyOutput(argv: string[], cols: number, env: Record<string, string>) {
  const quoted = argv.map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qfec", `stty rows 40 cols ${cols}; ${quoted}`, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    env,
  }).output();
  // Deno clears its (empty) module-loading progress line on a terminal: not ours to compare.
  return new TextDecoder().decode(out.stdout).replaceAll("\x1b[0G\x1b[2K\x1b[J", "");
}

Deno.test("pull on a terminal: progress bars drawn exactly as the real CLI draws them", async () => {
  const layer = (id: string, status: string, detail: Record<string, number> = {}) =>
    JSON.stringify({ status, progressDetail: detail, id }) + "\r\n";
  const stream = [
    JSON.stringify({ status: "Pulling from library/busybox", id: "latest" }) + "\r\n",
    layer("aaa111", "Pulling fs layer"),
    layer("bbb222", "Pulling fs layer"),
    layer("aaa111", "Downloading", { current: 1000, total: 2000000 }),
    layer("bbb222", "Downloading", { current: 500000, total: 1000000 }),
    layer("aaa111", "Downloading", { current: 2000000, total: 2000000 }),
    layer("aaa111", "Download complete"),
    layer("bbb222", "Download complete"),
    layer("aaa111", "Extracting", { current: 32768, total: 2000000 }),
    layer("aaa111", "Pull complete"),
    layer("bbb222", "Pull complete"),
    JSON.stringify({ status: "Digest: sha256:abc" }) + "\r\n",
    JSON.stringify({ status: "Status: Downloaded newer image for busybox:latest" }) + "\r\n",
  ];
  const e = await fakeEngine({
    "POST /images/create": { chunks: stream, headers: { "Content-Type": "application/json" } },
  });
  try {
    for (const cols of [80, 150]) {
      const env = { DOCKER_CONFIG: `${e.dir}/cfg` };
      const theirs = await ptyOutput(["docker", "-H", e.host, "pull", "busybox"], cols, env);
      const ours = await ptyOutput(
        [Deno.execPath(), "run", "-A", MAIN, "docker", "-H", e.host, "pull", "busybox"],
        cols,
        env,
      );
      assert.equal(JSON.stringify(ours), JSON.stringify(theirs), `${cols} columns`);
    }
  } finally {
    await e.close();
  }
});

Deno.test("attach on a terminal: the same requests and ending as the real CLI (read escape sequence)", async () => {
  const got: string[] = [];
  const e = await fakeEngine({
    "GET /containers/{id}/json": {
      json: {
        Id: ID,
        State: { Running: true, Paused: false, Restarting: false },
        Config: { Tty: true, OpenStdin: true },
        HostConfig: {},
      },
    },
    "POST /containers/{id}/wait": { chunks: [new Promise(() => {})] },
    "POST /containers/{id}/resize": { status: 200 },
    "POST /containers/{id}/attach": {
      hijack: async (c: Deno.Conn, r: BufferedConn) => {
        await c.write(new TextEncoder().encode("/ # "));
        for (;;) {
          const x = await r.readSome().catch(() => null);
          if (!x) break;
          got.push(new TextDecoder().decode(x));
        }
      },
    },
  });
  const run = async (argv: string[]) => {
    const before = e.requests.length;
    const quoted = argv.map((a) => `'${a}'`).join(" ");
    const child = new Deno.Command("script", {
      args: ["-qfec", `stty rows 30 cols 100; ${quoted}; echo rc=$?`, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      env: { DOCKER_CONFIG: `${e.dir}/cfg` },
    }).spawn();
    const w = child.stdin.getWriter();
    await new Promise((r) => setTimeout(r, 1500));
    await w.write(new TextEncoder().encode("a\x10\x11"));
    const out = await child.output();
    await w.close().catch(() => {});
    const reqs = e.requests.slice(before).map((r) => `${r.method} ${r.path}?${r.query}`);
    const text = new TextDecoder().decode(out.stdout).replaceAll("\x1b[0G\x1b[2K\x1b[J", "");
    return { text, reqs };
  };
  try {
    const theirs = await run(["docker", "-H", e.host, "attach", "foo"]);
    const ours = await run([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "docker",
      "-H",
      e.host,
      "attach",
      "foo",
    ]);
    assert.equal(ours.text, theirs.text);
    assert.match(ours.text, /read escape sequence\r\nrc=1/);
    // The real CLI sends its inspect and its wait from two goroutines: their order varies.
    const settled = (r: string[]) => [r[0], ...r.slice(1, 3).sort(), ...r.slice(3)];
    assert.deepEqual(settled(ours.reqs), settled(theirs.reqs));
    assert.deepEqual(got, ["a", "a"]);
  } finally {
    await e.close();
  }
});

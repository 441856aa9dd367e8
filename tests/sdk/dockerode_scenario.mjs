/**
 * dockerode (npm) against a berth dockerd.
 *
 * Usage: deno run -A tests/sdk/dockerode_scenario.mjs /path/to/docker.sock
 *
 * Prints one line per step ("ok <step>"); the first failure prints its error
 * and exits 1. Every container it makes carries the label berth.sdk=dockerode
 * and is removed at the end.
 */
import Docker from "dockerode";
import { PassThrough } from "node:stream";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";

const socketPath = Deno.args[0];
const docker = new Docker({ socketPath, version: "v1.43" });
// Without a version: unversioned paths.
const plain = new Docker({ socketPath });
const LABELS = { "berth.sdk": "dockerode" };
const HOST = { NetworkMode: "none" };

async function cleanup() {
  const list = await docker.listContainers({
    all: true,
    filters: { label: ["berth.sdk=dockerode"] },
  });
  for (const c of list) await docker.getContainer(c.Id).remove({ force: true });
}

async function step(name, fn) {
  const t0 = performance.now();
  try {
    await fn();
  } catch (e) {
    console.log(`FAIL ${name}`);
    console.log(e?.stack ?? e);
    if (e?.json) console.log("body:", JSON.stringify(e.json));
    await cleanup().catch((c) => console.log("cleanup:", c?.message));
    Deno.exit(1);
  }
  console.log(`ok ${name} (${Math.round(performance.now() - t0)} ms)`);
}

/** Splits a buffer of stdcopy frames into [stdout, stderr] text. */
function demuxBuffer(buf) {
  const out = ["", ""];
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off + 4);
    const text = buf.subarray(off + 8, off + 8 + size).toString();
    if (buf[off] === 1) out[0] += text;
    else if (buf[off] === 2) out[1] += text;
    else throw new Error(`bad stream byte ${buf[off]}`);
    off += 8 + size;
  }
  assert.equal(off, buf.length, "whole frames");
  return out;
}

/** Demultiplexes `stream` with docker.modem.demuxStream until it ends. */
function demuxed(stream) {
  const stdout = new PassThrough(), stderr = new PassThrough();
  const text = { out: "", err: "" };
  stdout.on("data", (d) => text.out += d.toString());
  stderr.on("data", (d) => text.err += d.toString());
  docker.modem.demuxStream(stream, stdout, stderr);
  return new Promise((resolve, reject) => {
    stream.on("end", () => resolve(text));
    stream.on("close", () => resolve(text));
    stream.on("error", reject);
  });
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (d) => chunks.push(Buffer.from(d)));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

async function expectStatus(promise, status, message) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.statusCode, status, `${e.message}`);
    if (message) assert.match(e.json?.message ?? "", message);
    return e;
  }
  throw new Error(`expected an error with status ${status}`);
}

const create = (opts) =>
  docker.createContainer({ Image: "busybox", Labels: LABELS, HostConfig: HOST, ...opts });

await step("ping, version, info", async () => {
  assert.equal(String(await docker.ping()), "OK");
  const v = await docker.version();
  assert.ok(v.ApiVersion, JSON.stringify(v));
  assert.equal((await plain.version()).ApiVersion, v.ApiVersion);
  const info = await docker.info();
  assert.equal(typeof info.Containers, "number");
});

await step("images: list, inspect", async () => {
  const images = await docker.listImages();
  assert.ok(images.some((i) => i.RepoTags?.includes("busybox:latest")));
  const img = await docker.getImage("busybox").inspect();
  assert.match(img.Id, /^sha256:/);
});

await step("createContainer, start, wait, logs", async () => {
  const c = await create({ Cmd: ["sh", "-c", "echo out; echo err >&2; exit 4"] });
  await c.start();
  assert.deepEqual(await c.wait(), { StatusCode: 4, Error: null });
  const logs = await c.logs({ stdout: true, stderr: true });
  assert.deepEqual(demuxBuffer(logs), ["out\n", "err\n"]);
  const followed = await c.logs({ stdout: true, follow: true });
  assert.deepEqual(await demuxed(followed), { out: "out\n", err: "" });
  await c.remove();
});

await step("attach with hijack: stdin and demuxed output", async () => {
  const c = await create({
    Cmd: ["sh", "-c", "read x; echo got $x; echo err >&2"],
    OpenStdin: true,
    StdinOnce: true,
  });
  const stream = await c.attach({
    stream: true,
    stdin: true,
    stdout: true,
    stderr: true,
    hijack: true,
  });
  const text = demuxed(stream);
  await c.start();
  stream.write("hello\n");
  stream.end();
  assert.deepEqual(await text, { out: "got hello\n", err: "err\n" });
  assert.equal((await c.wait()).StatusCode, 0);
  await c.remove();
});

await step("attach without hijack: output as the response body", async () => {
  const c = await create({ Cmd: ["sh", "-c", "sleep 0.2; echo late; echo late-err >&2"] });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true });
  const text = demuxed(stream);
  await c.start();
  assert.deepEqual(await text, { out: "late\n", err: "late-err\n" });
  assert.equal((await c.wait()).StatusCode, 0);
  await c.remove();
});

let box;

await step("exec with hijack: stdin, demuxed output, exit code", async () => {
  box = await create({
    name: "dockerode-box",
    Cmd: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"],
  });
  await box.start();
  const exec = await box.exec({
    Cmd: ["sh", "-c", "cat; echo e >&2; exit 2"],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const text = demuxed(stream);
  stream.write("through exec\n");
  stream.end();
  assert.deepEqual(await text, { out: "through exec\n", err: "e\n" });
  const info = await exec.inspect();
  assert.equal(info.ExitCode, 2);
  assert.equal(info.Running, false);
});

await step("exec without hijack, with a TTY, detached", async () => {
  let exec = await box.exec({
    Cmd: ["sh", "-c", "echo a; echo b >&2; exit 6"],
    AttachStdout: true,
    AttachStderr: true,
  });
  assert.deepEqual(await demuxed(await exec.start({})), { out: "a\n", err: "b\n" });
  assert.equal((await exec.inspect()).ExitCode, 6);
  exec = await box.exec({ Cmd: ["tty"], AttachStdout: true, Tty: true });
  const raw = (await readAll(await exec.start({ hijack: true, Tty: true }))).toString();
  assert.match(raw, /^\/dev\/pts\/\d+\r\n$/);
  exec = await box.exec({ Cmd: ["sh", "-c", "exit 3"] });
  await exec.start({ Detach: true });
  for (let i = 0; i < 100 && (await exec.inspect()).Running !== false; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await exec.inspect()).ExitCode, 3);
});

await step("inspect, list with filters", async () => {
  const info = await box.inspect();
  assert.equal(info.State.Running, true);
  assert.equal(info.Name, "/dockerode-box");
  assert.equal(info.Config.Labels["berth.sdk"], "dockerode");
  assert.equal(info.HostConfig.NetworkMode, "none");
  let list = await docker.listContainers({ filters: { label: ["berth.sdk=dockerode"] } });
  assert.deepEqual(list.map((c) => c.Names[0]), ["/dockerode-box"]);
  // Filters given as a JSON string are passed as is.
  list = await plain.listContainers({ all: true, filters: '{"name":["dockerode-box"]}' });
  assert.deepEqual(list.map((c) => c.Id), [box.id]);
});

await step("errors: 404 and 409 with statusCode", async () => {
  await expectStatus(
    docker.getContainer("dockerode-nope").inspect(),
    404,
    /No such container: dockerode-nope/,
  );
  await expectStatus(docker.getContainer("dockerode-nope").start(), 404);
  await expectStatus(
    create({ name: "dockerode-box", Cmd: ["true"] }),
    409,
    /is already in use/,
  );
  await expectStatus(box.remove(), 409, /cannot remove a running container/);
  await expectStatus(docker.getImage("busybox:dockerode-nope").inspect(), 404);
  await expectStatus(docker.getExec("dockerode-nope").inspect(), 404);
});

await step("stop, remove", async () => {
  await box.stop({ t: 5 });
  assert.equal((await box.inspect()).State.Status, "exited");
  await box.remove({ v: true });
  await expectStatus(box.inspect(), 404);
  const c = await create({ Cmd: ["sleep", "30"] });
  await c.start();
  await c.remove({ force: true });
  await expectStatus(c.inspect(), 404);
});

await cleanup();
console.log("dockerode scenario passed");

/**
 * dockerd's hijacked attach stream, bridged to a real shim's attach socket:
 * `101 UPGRADED`, multiplexed output, stdin, and the detach keys.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { makeBundle, uniqueId } from "./helpers/bundle.ts";
import { T } from "./helpers/fixture.ts";
import { deleteAll } from "./helpers/runtime.ts";
import { startShim } from "../shim/client.ts";
import { bridge } from "../daemon/attach/hijack.ts";
import { parseDetachKeys } from "../daemon/attach/detach_keys.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withAttachServer(
  args: string[],
  fn: (ctx: {
    connect(): Promise<Deno.UnixConn>;
    start(): Promise<void>;
    wait(): Promise<number>;
    detached: () => boolean;
    kill(): Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-hijack-" });
  const id = uniqueId();
  const bundle = await makeBundle({ args, id });
  const shim = await startShim(`${dir}/shim`);
  let detached = false;
  const server = http.createServer((_req, res) => res.end());
  server.on("upgrade", (_req, socket, head) => {
    bridge(socket, new Uint8Array(head), {
      attachSocket: `${bundle.dir}/attach.sock`,
      header: { stdin: true, stdout: true, stderr: true },
      tty: false,
      detachKeys: parseDetachKeys("ctrl-p,ctrl-q"),
      onDetach: () => detached = true,
    });
  });
  const sock = `${dir}/api.sock`;
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    await shim.call("create", {
      id,
      bundle: bundle.dir,
      stdio: { openStdin: true },
      runtimeRoot: `${dir}/runc`,
    });
    await fn({
      connect: () => Deno.connect({ transport: "unix", path: sock }),
      start: async () => void await shim.call("start", { id }),
      wait: async () => (await shim.call("wait", { id })).status,
      detached: () => detached,
      kill: async () => void await shim.call("kill", { id, signal: 9 }),
    });
    await shim.call("delete", { id, force: true });
  } finally {
    server.close();
    shim.close();
    await deleteAll(`${dir}/runc`).catch(() => {});
    await bundle.cleanup();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function upgrade(conn: Deno.UnixConn): Promise<string> {
  await conn.write(enc.encode(
    "POST /v1.47/containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n" +
      "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
  ));
  let head = "";
  const buf = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    head += dec.decode(buf.subarray(0, n));
  }
  return head;
}

async function readAll(conn: Deno.UnixConn): Promise<Uint8Array> {
  const parts: number[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    parts.push(...buf.subarray(0, n));
  }
  return new Uint8Array(parts);
}

function demux(data: Uint8Array): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  for (let off = 0; off + 8 <= data.length;) {
    const size = new DataView(data.buffer, off + 4, 4).getUint32(0);
    const text = dec.decode(data.subarray(off + 8, off + 8 + size));
    if (data[off] === 1) out.stdout += text;
    else out.stderr += text;
    off += 8 + size;
  }
  return out;
}

Deno.test("attach: 101 UPGRADED, stdin in, multiplexed output out", T, async () => {
  await withAttachServer(["sh", "-c", "read l; echo got:$l; echo err >&2"], async (ctx) => {
    const conn = await ctx.connect();
    const head = await upgrade(conn);
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
    await ctx.start();
    await conn.write(enc.encode("hello\n"));
    const out = demux(await readAll(conn));
    conn.close();
    assert.deepEqual(out, { stdout: "got:hello\n", stderr: "err\n" });
    assert.equal(await ctx.wait(), 0);
  });
});

Deno.test("attach: ctrl-p ctrl-q detaches and the container keeps running", T, async () => {
  await withAttachServer(["sh", "-c", "cat"], async (ctx) => {
    const conn = await ctx.connect();
    await upgrade(conn);
    await ctx.start();
    await conn.write(enc.encode("echoed\n"));
    // The echo comes back first (one 8-byte frame header plus the line)...
    const first = new Uint8Array(8 + 7);
    for (let off = 0; off < first.length;) off += (await conn.read(first.subarray(off)))!;
    assert.equal(demux(first).stdout, "echoed\n");
    // ...then the detach sequence ends the stream.
    await conn.write(new Uint8Array([16, 17]));
    await readAll(conn); // ends: the bridge closed the connection
    conn.close();
    assert.ok(ctx.detached());
    // Still running: a kill is needed to stop it.
    await ctx.kill();
    assert.equal(await ctx.wait(), 137);
  });
});

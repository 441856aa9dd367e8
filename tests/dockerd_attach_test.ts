/**
 * The hijacked attach endpoint at the wire level: `101 UPGRADED`, stdcopy
 * frames, `logs=1` replaying what was written before the attach, and the
 * stream ending at the container's exit.
 */
import assert from "node:assert/strict";
import { startDockerd } from "./helpers/dockerd.ts";
import { T } from "./helpers/fixture.ts";

/** Sends a raw upgrade request and reads until the daemon closes the stream. */
async function hijack(socket: string, path: string): Promise<Uint8Array> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(
    new TextEncoder().encode(
      `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Length: 0\r\n\r\n`,
    ),
  );
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** [stream, text] of each stdcopy frame after the HTTP head. */
function frames(raw: Uint8Array): [number, string][] {
  const text = new TextDecoder().decode(raw);
  const headEnd = text.indexOf("\r\n\r\n");
  assert.match(text.slice(0, headEnd), /^HTTP\/1.1 101 UPGRADED/);
  assert.match(text.slice(0, headEnd), /application\/vnd.docker.multiplexed-stream/);
  let body = raw.subarray(new TextEncoder().encode(text.slice(0, headEnd + 4)).length);
  const out: [number, string][] = [];
  while (body.length >= 8) {
    const size = new DataView(body.buffer, body.byteOffset).getUint32(4);
    out.push([body[0], new TextDecoder().decode(body.subarray(8, 8 + size))]);
    body = body.subarray(8 + size);
  }
  assert.equal(body.length, 0, "no partial frame");
  return out;
}

Deno.test("attach: logs=1 replays the past, then live output until the exit", T, async () => {
  const d = await startDockerd({ busybox: true });
  try {
    const run = await d.docker([
      "run",
      "-d",
      "--network",
      "none",
      "--name",
      "talker",
      "busybox",
      "sh",
      "-c",
      "echo one; echo err >&2; sleep 1; echo two",
    ]);
    assert.equal(run.code, 0, run.stderr);
    await new Promise((r) => setTimeout(r, 300));
    const got = frames(
      await hijack(d.socket, "/v1.47/containers/talker/attach?logs=1&stream=1&stdout=1&stderr=1"),
    );
    assert.deepEqual(got, [[1, "one\n"], [2, "err\n"], [1, "two\n"]]);

    // An unknown container is answered before the hijack.
    const status = async (path: string) =>
      new TextDecoder().decode(await hijack(d.socket, path)).split("\r\n")[0];
    assert.equal(
      await status("/containers/nosuch/attach?stream=1&stdout=1"),
      "HTTP/1.1 404 Not Found",
    );
  } finally {
    await d.close();
  }
});

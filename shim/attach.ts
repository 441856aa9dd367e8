/**
 * A container's attach socket (see AttachHeader in api.ts): any number of
 * clients, at any time, read the live output and may write stdin.
 */
import type { AttachHeader } from "./api.ts";
import { frame, type OutputClient, type ProcessIO, type Stream } from "./process_io.ts";
import { QueuedSink } from "./sink.ts";

async function readHeader(conn: Deno.Conn): Promise<{ header: AttachHeader; rest: Uint8Array }> {
  const buf = new Uint8Array(4096);
  let have = new Uint8Array(0);
  for (;;) {
    const nl = have.indexOf(10);
    if (nl >= 0) {
      return {
        header: JSON.parse(new TextDecoder().decode(have.subarray(0, nl))),
        rest: have.subarray(nl + 1),
      };
    }
    if (have.length > 64 * 1024) throw new Error("attach header too long");
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed before the attach header");
    const next = new Uint8Array(have.length + n);
    next.set(have);
    next.set(buf.subarray(0, n), have.length);
    have = next;
  }
}

export async function serveAttach(
  conn: Deno.Conn,
  lookup: (execId?: string) => ProcessIO | undefined,
  /** Names the container in shim.log. */
  id: string,
): Promise<void> {
  let header: AttachHeader, rest: Uint8Array;
  try {
    ({ header, rest } = await readHeader(conn));
  } catch {
    conn.close();
    return;
  }
  const io = lookup(header.execId);
  if (!io) {
    conn.close();
    return;
  }
  // A client that attaches to an exec before its start, with stdin, gives
  // the exec a stdin that closes when the client's input ends (docker exec -i).
  if (header.stdin && header.execId && io.awaitingProcess) {
    io.stdio.openStdin = true;
    io.stdio.stdinOnce = true;
  }
  const raw = Boolean(io.stdio.terminal);
  const sink = new QueuedSink(
    async (b) => {
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    },
    () => conn.close(),
    `attach client of ${id}${header.execId ? ` exec ${header.execId}` : ""}`,
  );
  const client: OutputClient = {
    send(stream: Stream, data: Uint8Array) {
      if (stream === "stdout" && !header.stdout) return;
      if (stream === "stderr" && !header.stderr) return;
      sink.push(raw ? data : frame(stream, data));
    },
    end() {
      sink.end();
    },
  };
  if (header.ack) sink.push(new Uint8Array([10]));
  // A client of a process whose output has ended gets no output, not a hang.
  if ((header.stdout || header.stderr) && !io.ended) {
    io.clients.add(client);
    sink.done.then(() => io.clients.delete(client));
  } else sink.end();

  if (!header.stdin) return;
  if (rest.length) await io.writeStdin(rest);
  const buf = new Uint8Array(32 * 1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    await io.writeStdin(buf.subarray(0, n));
  }
  // As dockerd: only a process without a terminal loses its stdin with the
  // client's (a detached or vanished `docker run -it` client leaves it running).
  if (io.stdio.stdinOnce && !io.stdio.terminal) io.closeStdin();
  // The client is done writing; if it wanted no output, it is done altogether.
  if (!header.stdout && !header.stderr) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

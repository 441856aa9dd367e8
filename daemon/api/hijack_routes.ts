/**
 * The Engine API's hijacked endpoints, served from node:http's `upgrade`
 * event (the CLI and SDKs send `Connection: Upgrade, Upgrade: tcp`):
 *
 * - POST /containers/{id}/attach
 * - POST /exec/{id}/start
 *
 * Errors before the hijack are ordinary HTTP answers with Docker's JSON body.
 */
import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { Engine } from "../engine.ts";
import { ApiError } from "./errors.ts";
import { splitVersion } from "./version.ts";
import { bridge, upgradeResponse } from "../attach/hijack.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../attach/detach_keys.ts";
import { ImageError, statusOf } from "../images/errors.ts";
import { commonHeaders } from "./app.ts";
import { planAttach } from "./routes/attach.ts";
import { readUpgradeBody } from "../attach/upgrade_body.ts";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  409: "Conflict",
  500: "Internal Server Error",
};

/**
 * The shim's attach socket of a container started by this daemon's
 * containerd. Its real path (in the task's bundle) is too long for a socket
 * address, so it is reached through a short symlink to the bundle,
 * `<exec-root>/attach/<id prefix>`.
 */
export function attachSocketOf(engine: Engine, id: string): string {
  const root = engine.config.execRoot;
  const bundle = `${root}/containerd/tasks/moby/${id}`;
  const link = `${root}/attach/${id.slice(0, 16)}`;
  try {
    if (Deno.readLinkSync(link) === bundle) return `${link}/attach.sock`;
    Deno.removeSync(link);
  } catch { /* none yet */ }
  Deno.mkdirSync(`${root}/attach`, { recursive: true, mode: 0o700 });
  try {
    Deno.symlinkSync(bundle, link);
  } catch (e) {
    // Made meanwhile by a concurrent attach.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  return `${link}/attach.sock`;
}

function answer(engine: Engine, socket: Duplex, status: number, message: string) {
  const headers = Object.entries(commonHeaders(engine)).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const body = JSON.stringify({ message }) + "\n";
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: application/json\r\n` +
      `${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function hijackHandler(engine: Engine) {
  return async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on("error", () => {});
    try {
      // The body is not part of the stream (exec start sends its options).
      head = Buffer.from((await readUpgradeBody(req, socket, new Uint8Array(head))).head);
      const url = new URL(req.url ?? "/", "http://docker");
      const { path } = splitVersion(url.pathname);
      const q = url.searchParams;
      let m;
      if (req.method === "POST" && (m = /^\/containers\/([^/]+)\/attach$/.exec(path))) {
        await attach(engine, decodeURIComponent(m[1]), q, socket, head);
      } else if (req.method === "POST" && (m = /^\/exec\/([^/]+)\/start$/.exec(path))) {
        // The start options come from the exec's configuration: a hijacked
        // start is never detached.
        await execStart(engine, decodeURIComponent(m[1]), socket, head);
      } else {
        answer(engine, socket, 404, "page not found");
      }
    } catch (e) {
      if (e instanceof ApiError) answer(engine, socket, e.status, e.message);
      else if (e instanceof ImageError) answer(engine, socket, statusOf(e.kind), e.message);
      else {
        engine.log.error(`hijacked request: ${(e as Error).stack ?? e}`);
        answer(engine, socket, 500, (e as Error).message);
      }
    }
  };
}

async function attach(
  engine: Engine,
  ref: string,
  q: URLSearchParams,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const { rec, header, stream, detachKeys, replay } = planAttach(engine, ref, q);
  const tty = !!rec.Config.Tty;
  if (!stream) {
    // logs=1 alone: the log so far, then the end of the stream.
    socket.write(upgradeResponse(tty));
    if (replay) { for await (const chunk of replay) socket.write(Buffer.from(chunk)); }
    socket.end();
    return;
  }
  // Attached before the start (docker run, start -a): connect once the task exists.
  const early = rec.State.Running ? undefined : engine.lifecycle.attachBeforeStart(rec.Id);
  socket.once("close", () => early?.connected());
  await bridge(socket, new Uint8Array(head), {
    replay,
    ready: early?.ready,
    afterConnect: early ? () => Promise.resolve(early.connected()) : undefined,
    attachSocket: attachSocketOf(engine, rec.Id),
    header,
    tty,
    // The output ends as the process exits: a client that removes the
    // container next must find it stopped.
    beforeEnd: () => stopped(engine, rec.Id),
    detachKeys: header.stdin ? detachKeys : undefined,
    onDetach: () =>
      engine.events.publish({
        type: "container",
        action: "detach",
        id: rec.Id,
        attributes: { image: rec.Config.Image ?? "", name: rec.Name.slice(1) },
      }),
  });
}

/** Resolves once the container is not running (or is gone). */
export function stopped(engine: Engine, id: string): Promise<void> {
  try {
    return engine.lifecycle.wait(id, "not-running").then(() => {}, () => {});
  } catch {
    return Promise.resolve();
  }
}

async function execStart(
  engine: Engine,
  id: string,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const exec = engine.execs.get(id);
  const tty = !!exec.config.Tty;
  await engine.execs.prepare(id, { tty });
  await bridge(socket, new Uint8Array(head), {
    attachSocket: attachSocketOf(engine, exec.containerId),
    header: {
      execId: id,
      stdin: !!exec.config.AttachStdin,
      stdout: !!exec.config.AttachStdout,
      stderr: !!exec.config.AttachStderr,
    },
    tty,
    detachKeys: exec.config.AttachStdin && tty
      ? parseDetachKeys(exec.config.DetachKeys || DEFAULT_DETACH_KEYS)
      : undefined,
    afterConnect: () => engine.execs.run(id),
    beforeEnd: () => exec.exited,
  });
}

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
import { bridge } from "../attach/hijack.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../attach/detach_keys.ts";
import { ImageError, statusOf } from "../images/errors.ts";
import { commonHeaders } from "./app.ts";
import { logStream } from "../containers/logs.ts";
import { boolValue } from "./query.ts";

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

const flag = (q: URLSearchParams, k: string) => boolValue(q.get(k) ?? undefined);

export function hijackHandler(engine: Engine) {
  return async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on("error", () => {});
    try {
      const url = new URL(req.url ?? "/", "http://docker");
      const { path } = splitVersion(url.pathname);
      const q = url.searchParams;
      let m;
      if (req.method === "POST" && (m = /^\/containers\/([^/]+)\/attach$/.exec(path))) {
        await attach(engine, decodeURIComponent(m[1]), q, socket, head);
      } else if (req.method === "POST" && (m = /^\/exec\/([^/]+)\/start$/.exec(path))) {
        // Deno's node:http hands over an upgraded connection without the
        // request's body (hyper consumed it), so the start options come from
        // the exec's configuration: a hijacked start is never detached.
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
  const rec = engine.containers.get(ref);
  if (!rec.State.Running && rec.State.Status !== "created") {
    throw new ApiError(409, `You cannot attach to a stopped container, start it first`);
  }
  if (rec.State.Paused) {
    throw new ApiError(409, `You cannot attach to a paused container, unpause it first`);
  }
  const detachKeys = parseDetachKeys(q.get("detachKeys") || DEFAULT_DETACH_KEYS);
  const stdin = flag(q, "stdin") && !!rec.Config.OpenStdin;
  // logs=1: what the container already wrote, then the live stream (as dockerd does).
  const replay = flag(q, "logs") && rec.LogPath
    ? logStream(
      { path: rec.LogPath, tty: !!rec.Config.Tty, running: () => false },
      {
        stdout: flag(q, "stdout"),
        stderr: flag(q, "stderr"),
        follow: false,
        timestamps: false,
        details: false,
        tail: -1,
      },
    )
    : undefined;
  // Attached before the start (docker run, start -a): connect once the task exists.
  const early = rec.State.Running ? undefined : engine.lifecycle.attachBeforeStart(rec.Id);
  socket.once("close", () => early?.connected());
  await bridge(socket, new Uint8Array(head), {
    replay,
    ready: early?.ready,
    afterConnect: early ? () => Promise.resolve(early.connected()) : undefined,
    attachSocket: attachSocketOf(engine, rec.Id),
    header: { stdin, stdout: flag(q, "stdout"), stderr: flag(q, "stderr") },
    tty: !!rec.Config.Tty,
    detachKeys: stdin ? detachKeys : undefined,
    onDetach: () =>
      engine.events.publish({
        type: "container",
        action: "detach",
        id: rec.Id,
        attributes: { image: rec.Config.Image ?? "", name: rec.Name.slice(1) },
      }),
  });
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

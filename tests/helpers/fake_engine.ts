/**
 * A test double for the daemon's *answers*: a tiny HTTP/1.1 server on a unix
 * socket that records every request the client sends and answers with canned
 * Engine API responses (taken from the API reference). It serves hijacked
 * streams too (101 UPGRADED, then whatever the route writes), which
 * `Deno.serve` cannot. Used by cli/*_test.ts to pin down the wire contract
 * of each command while dockerd's routes are being written.
 */
import { BufferedConn, writeAll } from "../../cli/http.ts";
import { Cli, type Io } from "../../cli/cli.ts";
import { main } from "../../cli/main.ts";

export interface Recorded {
  method: string;
  /** Path without the /vX.Y prefix and without the query. */
  path: string;
  /** The API version of the path prefix ("" when none). */
  version: string;
  query: URLSearchParams;
  headers: Headers;
  body: Uint8Array;
  text(): string;
  json(): any;
}

export interface Answer {
  status?: number;
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /**
   * Streamed with chunked encoding, one chunk per item, after the head is
   * sent (as dockerd flushes a wait's head at once and answers at the exit).
   */
  chunks?: (string | Uint8Array | Promise<string | Uint8Array>)[];
  /** Take over the connection after writing the head (101 for a hijack). */
  hijack?: (conn: Deno.Conn, reader: BufferedConn) => Promise<void>;
}

export type Route = Answer | ((req: Recorded) => Answer | Promise<Answer>);

export interface FakeEngine {
  host: string;
  dir: string;
  requests: Recorded[];
  /** The requests other than pings. */
  calls(): Recorded[];
  close(): Promise<void>;
}

const te = new TextEncoder();
const td = new TextDecoder();

const STATUS_TEXT: Record<number, string> = {
  101: "UPGRADED",
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  409: "Conflict",
  500: "Internal Server Error",
};

function matchRoute(
  routes: Record<string, Route>,
  method: string,
  path: string,
): Route | undefined {
  for (const [key, route] of Object.entries(routes)) {
    const [m, pattern] = key.split(" ");
    if (m !== method) continue;
    const re = new RegExp("^" + pattern.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(path)) return route;
  }
  return undefined;
}

async function readRequest(r: BufferedConn): Promise<Recorded | null> {
  const line = await r.readLine();
  if (line === null || line === "") return null;
  const [method, target] = line.split(" ");
  const headers = new Headers();
  for (;;) {
    const h = await r.readLine();
    if (h === null || h === "") break;
    const i = h.indexOf(":");
    headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim());
  }
  const parts: Uint8Array[] = [];
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    for (;;) {
      const size = parseInt((await r.readLine()) ?? "0", 16);
      if (!size) {
        await r.readLine();
        break;
      }
      parts.push(await r.readExact(size));
      await r.readLine();
    }
  } else if (headers.get("content-length")) {
    const n = Number(headers.get("content-length"));
    if (n) parts.push(await r.readExact(n));
  }
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    body.set(p, off);
    off += p.length;
  }
  const url = new URL(target, "http://x");
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(url.pathname);
  return {
    method,
    path: m ? m[2] : url.pathname,
    version: m ? m[1] : "",
    query: url.searchParams,
    headers,
    body,
    text: () => td.decode(body),
    json: () => JSON.parse(td.decode(body)),
  };
}

async function answer(conn: Deno.Conn, r: BufferedConn, a: Answer, method = "GET"): Promise<void> {
  const status = a.status ?? (a.hijack ? 101 : 200);
  const headers: Record<string, string> = {
    "Api-Version": "1.47",
    "Ostype": "linux",
    ...a.headers,
  };
  let body: Uint8Array | undefined;
  if (a.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = te.encode(JSON.stringify(a.json) + "\n");
  } else if (a.body !== undefined) {
    body = typeof a.body === "string" ? te.encode(a.body) : a.body;
  }
  if (a.chunks) headers["Transfer-Encoding"] = "chunked";
  else if (!a.hijack) headers["Content-Length"] = String(body?.length ?? 0);
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  await writeAll(conn, te.encode(head + "\r\n"));
  if (a.hijack) {
    await a.hijack(conn, r);
    return;
  }
  if (a.chunks) {
    for (const item of a.chunks) {
      const c = await item;
      const b = typeof c === "string" ? te.encode(c) : c;
      await writeAll(conn, te.encode(b.length.toString(16) + "\r\n"));
      await writeAll(conn, b);
      await writeAll(conn, te.encode("\r\n"));
    }
    await writeAll(conn, te.encode("0\r\n\r\n"));
  } else if (body && method !== "HEAD") {
    await writeAll(conn, body);
  }
}

/** Starts the double with `routes` ("METHOD /path/{param}" → answer); /_ping is built in. */
export async function fakeEngine(
  routes: Record<string, Route>,
  opts: { tcp?: boolean } = {},
): Promise<FakeEngine> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-fake-engine-" });
  const path = `${dir}/docker.sock`;
  const listener: Deno.Listener = opts.tcp
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listen({ transport: "unix", path });
  const host = opts.tcp
    ? `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`
    : `unix://${path}`;
  const requests: Recorded[] = [];
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const r = new BufferedConn(conn);
        try {
          for (;;) {
            const req = await readRequest(r);
            if (!req) break;
            requests.push(req);
            let a: Answer;
            if (req.path === "/_ping") {
              a = { body: req.method === "HEAD" ? undefined : "OK" };
            } else {
              const route = matchRoute(routes, req.method, req.path);
              a = !route
                ? { status: 404, json: { message: "page not found" } }
                : typeof route === "function"
                ? await route(req)
                : route;
            }
            await answer(conn, r, a, req.method);
            if (a.hijack) break;
          }
        } catch { /* client went away */ }
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    host,
    dir,
    requests,
    calls: () => requests.filter((r) => r.path !== "/_ping"),
    close: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await serving.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Collects what a command writes; feeds it `stdin`. */
export class TestIo implements Io {
  private out: Uint8Array[] = [];
  private errOut: Uint8Array[] = [];
  stdin: Io["stdin"];
  stdout: Io["stdout"];
  stderr: Io["stderr"];

  constructor(stdin: string | Uint8Array = "", terminal = false) {
    let input = typeof stdin === "string" ? te.encode(stdin) : stdin;
    this.stdin = {
      read: (p: Uint8Array) => {
        if (!input.length) return Promise.resolve(null);
        const n = Math.min(p.length, input.length);
        p.set(input.subarray(0, n));
        input = input.subarray(n);
        return Promise.resolve(n);
      },
      isTerminal: () => terminal,
    };
    const sink = (into: Uint8Array[]) => ({
      writeSync: (p: Uint8Array) => {
        into.push(p.slice());
        return p.length;
      },
      write: (p: Uint8Array) => {
        into.push(p.slice());
        return Promise.resolve(p.length);
      },
      isTerminal: () => terminal,
    });
    this.stdout = sink(this.out);
    this.stderr = sink(this.errOut);
  }

  get stdoutText(): string {
    return this.out.map((b) => td.decode(b)).join("");
  }

  get stdoutBytes(): Uint8Array {
    const n = this.out.reduce((a, b) => a + b.length, 0);
    const all = new Uint8Array(n);
    let off = 0;
    for (const b of this.out) {
      all.set(b, off);
      off += b.length;
    }
    return all;
  }

  get stderrText(): string {
    return this.errOut.map((b) => td.decode(b)).join("");
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  io: TestIo;
}

/** Runs berth's docker client in this process against `engine`, with its own config dir. */
export async function runCli(
  engine: FakeEngine,
  args: string[],
  opts: { stdin?: string | Uint8Array; terminal?: boolean } = {},
): Promise<RunResult> {
  const io = new TestIo(opts.stdin ?? "", opts.terminal);
  const code = await main(["--config", `${engine.dir}/config`, "-H", engine.host, ...args], io);
  return { code, stdout: io.stdoutText, stderr: io.stderrText, io };
}

export { Cli };

/** The real Docker CLI against `engine` (its own config dir), for side-by-side checks. */
export async function runRealDocker(
  engine: FakeEngine,
  args: string[],
  opts: { stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("docker", {
    args: ["--config", `${engine.dir}/real-config`, "-H", engine.host, ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(te.encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

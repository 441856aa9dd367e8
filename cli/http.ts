/**
 * A small HTTP/1.1 client over one connection per request (unix socket, TCP
 * or TLS). The Engine API needs what `fetch` does not give: the raw
 * connection after `101 UPGRADED` (attach, exec), and a half-close of the
 * request side once stdin ends.
 */

/** Where the daemon listens: a parsed `-H` / DOCKER_HOST. */
export type Endpoint =
  | { transport: "unix"; path: string }
  | {
    transport: "tcp";
    hostname: string;
    port: number;
    tls?: { caCerts?: string[]; cert?: string; key?: string; verify: boolean };
  };

export interface HttpRequest {
  method: string;
  /** Path with its query string. */
  path: string;
  headers?: Record<string, string>;
  /** A byte body is sent with Content-Length, a stream with chunked encoding. */
  body?: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Called once the request (head and body) is written, before the answer is awaited. */
  onSent?: () => void;
}

const te = new TextEncoder();
const td = new TextDecoder();

/** Reads a connection through a buffer: lines for the head, then bytes. */
export class BufferedConn {
  private buf = new Uint8Array(0);
  private eof = false;

  constructor(readonly conn: Deno.Conn) {}

  /** Bytes read from the socket but not consumed yet. */
  takeBuffered(): Uint8Array {
    const b = this.buf;
    this.buf = new Uint8Array(0);
    return b;
  }

  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const chunk = new Uint8Array(32 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) {
      this.eof = true;
      return false;
    }
    const merged = new Uint8Array(this.buf.length + n);
    merged.set(this.buf);
    merged.set(chunk.subarray(0, n), this.buf.length);
    this.buf = merged;
    return true;
  }

  /** A line without its CRLF; null at EOF before any byte. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf(10);
      if (i >= 0) {
        const line = td.decode(this.buf.subarray(0, i > 0 && this.buf[i - 1] === 13 ? i - 1 : i));
        this.buf = this.buf.subarray(i + 1);
        return line;
      }
      if (!await this.fill()) {
        if (!this.buf.length) return null;
        const line = td.decode(this.buf);
        this.buf = new Uint8Array(0);
        return line;
      }
    }
  }

  /** Up to `max` bytes (at least one), or null at EOF. */
  async readSome(max = Infinity): Promise<Uint8Array | null> {
    if (!this.buf.length && !await this.fill()) return null;
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Exactly `n` bytes, or an error at EOF. */
  async readExact(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) {
      if (!await this.fill()) throw new Error("unexpected EOF");
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** A response whose body is read from the connection on demand. */
export class HttpResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    /** The body's chunks (already de-chunked); empty for 101, HEAD, 204, 304. */
    readonly body: AsyncIterable<Uint8Array>,
    /** The connection: after 101 it carries the raw stream (see `reader`). */
    readonly conn: Deno.Conn,
    readonly reader: BufferedConn,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async bytes(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let len = 0;
    try {
      for await (const c of this.body) {
        parts.push(c.slice());
        len += c.length;
      }
    } finally {
      this.close();
    }
    const out = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  async text(): Promise<string> {
    return td.decode(await this.bytes());
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /** The body split into lines (JSON streams: events, pull progress, stats). */
  async *lines(): AsyncGenerator<string> {
    let rest = "";
    const dec = new TextDecoder();
    try {
      for await (const c of this.body) {
        rest += dec.decode(c, { stream: true });
        let i;
        while ((i = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, i).replace(/\r$/, "");
          rest = rest.slice(i + 1);
          if (line.trim()) yield line;
        }
      }
      if (rest.trim()) yield rest;
    } finally {
      this.close();
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

/** Opens a connection to `ep`. */
export async function dial(ep: Endpoint): Promise<Deno.Conn> {
  if (ep.transport === "unix") return await Deno.connect({ transport: "unix", path: ep.path });
  if (ep.tls) {
    return await Deno.connectTls({
      hostname: ep.hostname,
      port: ep.port,
      caCerts: ep.tls.caCerts,
      ...(ep.tls.cert && ep.tls.key ? { cert: ep.tls.cert, key: ep.tls.key } : {}),
    });
  }
  return await Deno.connect({ hostname: ep.hostname, port: ep.port });
}

function hostHeader(ep: Endpoint): string {
  // The Go client sends "api.moby.localhost" for unix sockets (docker 28); "docker" is
  // what older clients sent. Servers ignore it.
  return ep.transport === "unix" ? "api.moby.localhost" : `${ep.hostname}:${ep.port}`;
}

/** Sends `req` on a new connection and reads the response head. */
export async function send(ep: Endpoint, req: HttpRequest): Promise<HttpResponse> {
  const conn = await dial(ep);
  try {
    return await exchange(conn, ep, req);
  } catch (e) {
    try {
      conn.close();
    } catch { /* closed */ }
    throw e;
  }
}

async function exchange(conn: Deno.Conn, ep: Endpoint, req: HttpRequest): Promise<HttpResponse> {
  const headers: Record<string, string> = { Host: hostHeader(ep), ...req.headers };
  const body = req.body;
  const streamed = body !== undefined && !(body instanceof Uint8Array);
  if (body instanceof Uint8Array) headers["Content-Length"] = String(body.length);
  else if (streamed) headers["Transfer-Encoding"] = "chunked";
  else if (["POST", "PUT"].includes(req.method)) headers["Content-Length"] = "0";
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += "\r\n";
  await writeAll(conn, te.encode(head));

  const reader = new BufferedConn(conn);
  if (body instanceof Uint8Array) {
    await writeAll(conn, body);
  } else if (streamed) {
    // Write the body while the server may already answer (a refused upload answers early).
    const sending = (async () => {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        if (!chunk.length) continue;
        await writeAll(conn, te.encode(chunk.length.toString(16) + "\r\n"));
        await writeAll(conn, chunk);
        await writeAll(conn, te.encode("\r\n"));
      }
      await writeAll(conn, te.encode("0\r\n\r\n"));
      req.onSent?.();
    })();
    sending.catch(() => {});
    const res = await readResponse(reader, conn, req.method);
    if (res.ok) await sending.catch(() => {});
    return res;
  }
  req.onSent?.();
  return await readResponse(reader, conn, req.method);
}

async function readResponse(
  reader: BufferedConn,
  conn: Deno.Conn,
  method: string,
): Promise<HttpResponse> {
  let status: number, statusText: string, headers: Headers;
  // 1xx answers other than 101 (100 Continue) precede the real one.
  for (;;) {
    const line = await reader.readLine();
    if (line === null) throw new Error("EOF");
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(line);
    if (!m) throw new Error(`malformed HTTP response: ${JSON.stringify(line.slice(0, 80))}`);
    status = Number(m[1]);
    statusText = m[2];
    headers = new Headers();
    for (;;) {
      const h = await reader.readLine();
      if (h === null) throw new Error("unexpected EOF in response headers");
      if (h === "") break;
      const i = h.indexOf(":");
      if (i > 0) headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim());
    }
    if (status >= 200 || status === 101) break;
  }
  let body: AsyncIterable<Uint8Array>;
  if (status === 101 || method === "HEAD" || status === 204 || status === 304) {
    body = empty();
  } else if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    body = chunked(reader);
  } else if (headers.has("content-length")) {
    body = limited(reader, Number(headers.get("content-length")));
  } else {
    body = untilEof(reader);
  }
  return new HttpResponse(status, statusText, headers, body, conn, reader);
}

async function* empty(): AsyncGenerator<Uint8Array> {}

async function* limited(r: BufferedConn, n: number): AsyncGenerator<Uint8Array> {
  while (n > 0) {
    const c = await r.readSome(n);
    if (!c) throw new Error("unexpected EOF");
    n -= c.length;
    yield c;
  }
}

async function* untilEof(r: BufferedConn): AsyncGenerator<Uint8Array> {
  for (;;) {
    const c = await r.readSome();
    if (!c) return;
    yield c;
  }
}

async function* chunked(r: BufferedConn): AsyncGenerator<Uint8Array> {
  for (;;) {
    const line = await r.readLine();
    if (line === null) throw new Error("unexpected EOF");
    const size = parseInt(line.split(";")[0].trim(), 16);
    if (Number.isNaN(size)) throw new Error(`malformed chunk size ${JSON.stringify(line)}`);
    if (size === 0) {
      // Trailers end with an empty line.
      for (;;) {
        const t = await r.readLine();
        if (t === null || t === "") return;
      }
    }
    let left = size;
    while (left > 0) {
      const c = await r.readSome(left);
      if (!c) throw new Error("unexpected EOF");
      left -= c.length;
      yield c;
    }
    await r.readLine();
  }
}

export async function writeAll(w: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  let off = 0;
  while (off < data.length) off += await w.write(data.subarray(off));
}

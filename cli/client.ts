/**
 * The Engine API client: finds the daemon (-H, DOCKER_HOST), negotiates the
 * API version through /_ping as the Docker CLI does (the lower of ours and
 * the server's), prefixes every path with `/vX.Y`, and turns error answers
 * into "Error response from daemon: ..." errors.
 */
import { type Endpoint, type HttpRequest, type HttpResponse, send } from "./http.ts";
import { ConnectError, DaemonError } from "./errors.ts";

/** berth's client version (the Docker CLI shows its own here). */
export const CLI_VERSION = "0.1.0";
/** The newest Engine API version this client speaks. */
export const DEFAULT_API_VERSION = "1.47";
/** The version a server that names none is assumed to speak. */
const FALLBACK_API_VERSION = "1.24";
export const DEFAULT_HOST = "unix:///var/run/docker.sock";
const USER_AGENT = `Docker-Client/${CLI_VERSION}-berth (linux)`;

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body (anything but bytes or a stream), sent with Content-Type application/json. */
  json?: unknown;
  /** A raw body. */
  body?: HttpRequest["body"];
  headers?: Record<string, string>;
  /** Called when the request is written (before its answer comes). */
  onSent?: () => void;
}

export interface Ping {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  builderVersion?: string;
  swarm?: string;
}

export interface TlsOptions {
  verify: boolean;
  caCert?: string;
  cert?: string;
  key?: string;
}

/** Parses a daemon address: unix:///path, tcp://host:port, host:port. */
export function parseHost(host: string, tls?: TlsOptions): Endpoint {
  let h = host.trim();
  if (h === "") h = DEFAULT_HOST;
  if (h.startsWith("unix://")) {
    const path = h.slice(7);
    if (!path) throw new Error(`invalid bind address (${host}): empty path`);
    return { transport: "unix", path };
  }
  if (h.startsWith("/")) return { transport: "unix", path: h };
  if (/^(ssh|npipe|fd):\/\//.test(h)) {
    throw new Error(`unsupported protocol for berth's client: ${h.split(":")[0]}`);
  }
  if (h.startsWith("http://") || h.startsWith("https://")) {
    h = "tcp://" + h.replace(/^https?:\/\//, "");
  }
  if (!h.includes("://")) h = "tcp://" + h;
  if (!h.startsWith("tcp://")) throw new Error(`Invalid bind address format: ${host}`);
  const rest = h.slice(6).replace(/\/+$/, "");
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
  if (!m) throw new Error(`Invalid bind address format: ${host}`);
  const hostname = (m[1] || "127.0.0.1").replace(/^\[|\]$/g, "");
  const port = m[2] ? Number(m[2]) : tls ? 2376 : 2375;
  if (!tls) return { transport: "tcp", hostname, port };
  const read = (p?: string) => {
    try {
      return p ? Deno.readTextFileSync(p) : undefined;
    } catch {
      return undefined;
    }
  };
  const ca = read(tls.caCert);
  return {
    transport: "tcp",
    hostname,
    port,
    tls: {
      verify: tls.verify,
      caCerts: ca ? [ca] : undefined,
      cert: read(tls.cert),
      key: read(tls.key),
    },
  };
}

/** A host string as the CLI prints it in messages. */
function hostForMessages(ep: Endpoint): string {
  if (ep.transport === "unix") return `unix://${ep.path}`;
  return `tcp://${ep.hostname}:${ep.port}`;
}

/** Go's url.QueryEscape: all but [A-Za-z0-9-_.~] escaped, spaces as "+". */
export function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  )
    .replaceAll("%20", "+");
}

function encodeQuery(q?: Query): string {
  if (!q) return "";
  const parts: string[] = [];
  // url.Values.Encode sorts by key.
  for (const k of Object.keys(q).sort()) {
    const v = q[k];
    if (v === undefined || v === null) continue;
    parts.push(`${queryEscape(k)}=${queryEscape(String(v))}`);
  }
  return parts.length ? "?" + parts.join("&") : "";
}

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split(".").map(Number);
  const [b1, b2] = b.split(".").map(Number);
  return a1 - b1 || a2 - b2;
}

export class Client {
  readonly endpoint: Endpoint;
  /** The API version requests use (after negotiation). */
  version: string;
  /** The version this client would use against a new enough daemon. */
  readonly defaultVersion: string;
  private negotiated = false;
  private pinned: boolean;

  constructor(
    readonly host: string,
    opts: { apiVersion?: string; tls?: TlsOptions } = {},
  ) {
    this.endpoint = parseHost(host, opts.tls);
    this.pinned = !!opts.apiVersion;
    this.defaultVersion = opts.apiVersion || DEFAULT_API_VERSION;
    this.version = this.defaultVersion;
  }

  /** The daemon's address as the CLI prints it. */
  get address(): string {
    return hostForMessages(this.endpoint);
  }

  private connectError(e: unknown, path: string): Error {
    const err = e as Error & { code?: string };
    if (err instanceof Deno.errors.PermissionDenied || err.code === "EACCES") {
      const ep = this.endpoint;
      const where = ep.transport === "unix" ? `unix ${ep.path}` : `tcp ${ep.hostname}:${ep.port}`;
      return new ConnectError(
        `permission denied while trying to connect to the Docker daemon socket at ${this.address}: ` +
          `Get "http://${
            encodeURIComponent(this.address)
          }/v${this.version}${path}": dial ${where}: ` +
          `connect: permission denied`,
      );
    }
    return new ConnectError(
      `Cannot connect to the Docker daemon at ${this.address}. Is the docker daemon running?`,
    );
  }

  /** Sends one request to the daemon as it is (no version prefix, no error mapping). */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { "User-Agent": USER_AGENT, ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      // json.Encoder's output, newline included.
      body = new TextEncoder().encode(JSON.stringify(opts.json) + "\n");
      headers["Content-Type"] = "application/json";
    }
    try {
      return await send(this.endpoint, {
        method,
        path: path + encodeQuery(opts.query),
        headers,
        body,
        onSent: opts.onSent,
      });
    } catch (e) {
      if (
        e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused ||
        e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.ConnectionReset ||
        e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.TimedOut ||
        (e as { code?: string }).code !== undefined
      ) {
        throw this.connectError(e, path);
      }
      throw e;
    }
  }

  /** HEAD /_ping, then GET if HEAD is refused; reads the version headers. */
  async ping(): Promise<Ping> {
    let res = await this.raw("HEAD", "/_ping");
    if (res.status === 404 || res.status === 405) {
      res.close();
      res = await this.raw("GET", "/_ping");
    }
    res.close();
    const h = res.headers;
    const ping: Ping = {
      apiVersion: h.get("api-version") ?? undefined,
      osType: h.get("ostype") ?? undefined,
      experimental: h.get("docker-experimental") === "true",
      builderVersion: h.get("builder-version") ?? undefined,
      swarm: h.get("swarm") ?? undefined,
    };
    if (res.status >= 500 && !ping.apiVersion) {
      throw new DaemonError(res.status, res.statusText || "ping failed");
    }
    return ping;
  }

  /**
   * Settles the API version once: the daemon's if older than ours. A failed
   * ping leaves our default (the request that follows reports the error).
   */
  async negotiate(): Promise<void> {
    if (this.negotiated || this.pinned) return;
    this.negotiated = true;
    let ping: Ping;
    try {
      ping = await this.ping();
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      return;
    }
    const server = ping.apiVersion || FALLBACK_API_VERSION;
    if (compareVersions(server, this.defaultVersion) < 0) this.version = server;
  }

  /**
   * A versioned request; answers of 400 and above become a {@link DaemonError}
   * with the daemon's message.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    await this.negotiate();
    const res = await this.raw(method, `/v${this.version}${path}`, opts);
    if (res.status >= 400) throw await daemonError(res, `/v${this.version}${path}`);
    return res;
  }

  /** A versioned request whose answer is JSON. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await res.text();
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** A request whose answer body does not matter (204 and the like). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    await res.bytes();
  }

  /**
   * A request that takes over the connection (attach, exec start): the answer
   * is `101 UPGRADED` (or 200 from old daemons), after which `res.conn`
   * carries the raw or multiplexed stream; `res.reader` holds bytes already read.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    return await this.request(method, path, {
      ...opts,
      headers: { Connection: "Upgrade", Upgrade: "tcp", ...opts.headers },
    });
  }
}

async function daemonError(res: HttpResponse, url: string): Promise<DaemonError> {
  let text = "";
  try {
    text = (await res.text()).trim();
  } catch { /* connection dropped */ }
  let message = text;
  try {
    const j = JSON.parse(text);
    if (j && typeof j.message === "string") message = j.message;
  } catch { /* not JSON */ }
  if (!message) {
    message = `request returned ${res.statusText || res.status} for API route and version ` +
      `http://${url}, check if the server supports the requested API version`;
  }
  return new DaemonError(res.status, message);
}

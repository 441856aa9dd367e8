/**
 * HTTP for registries: fetch, except for HTTPS without certificate checks
 * (insecure registries), which Deno's fetch cannot do and node:https can.
 * Redirects are followed by hand so that credentials are never sent to
 * another host (blob downloads redirect to storage services).
 */
import https from "node:https";
import { Readable } from "node:stream";

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  insecureTls?: boolean;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;

/**
 * Why a request got no answer, in the words of Go's net/http that Docker
 * users know (`Get "URL": dial tcp: lookup HOST: no such host`): fetch only
 * says "fetch failed" and keeps the reason in its cause.
 */
export function failureMessage(method: string, url: string, e: unknown): string {
  const err = e as Error;
  const cause = (err.cause as Error | undefined)?.message || err.message;
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  let why = cause.replace(
    /^error sending request for url \([^)]*\): (client error \(\w+\): )?/,
    "",
  );
  if (/dns error|ENOTFOUND|EAI_AGAIN/.test(cause)) {
    why = `dial tcp: lookup ${u.hostname}: no such host`;
  } else if (/Connection refused|ECONNREFUSED/i.test(cause)) {
    why = `dial tcp ${u.hostname}:${port}: connect: connection refused`;
  }
  // Go names the operation as "Get", "Head", ...
  return `${method[0]}${method.slice(1).toLowerCase()} "${url}": ${why}`;
}

/** One request, following redirects; `Authorization` only goes to the first origin. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  let current = url;
  let headers = { ...(opts.headers ?? {}) };
  let method = opts.method ?? "GET";
  let body = opts.body;
  const origin = new URL(url).origin;
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    const res = await requestOnce(current, { ...opts, method, headers, body });
    if (![301, 302, 303, 307, 308].includes(res.status)) return res;
    const location = res.headers.get("location");
    await res.body?.cancel();
    if (!location) throw new Error(`${method} ${current}: redirect without a location`);
    current = new URL(location, current).toString();
    if (new URL(current).origin !== origin) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k.toLowerCase() !== "authorization"),
      );
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
    }
  }
  throw new Error(`${method} ${url}: too many redirects`);
}

function requestOnce(url: string, opts: RequestOptions): Promise<Response> {
  if (!opts.insecureTls || !url.startsWith("https:")) {
    return fetch(url, {
      method: opts.method,
      headers: opts.headers,
      body: opts.body,
      redirect: "manual",
      signal: opts.signal,
    });
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: opts.method,
      headers: opts.headers,
      rejectUnauthorized: false,
      signal: opts.signal,
    }, (res) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      }
      const status = res.statusCode ?? 502;
      const nullBody = opts.method === "HEAD" || status === 204 || status === 304;
      if (nullBody) res.resume();
      resolve(
        new Response(
          nullBody ? null : Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>,
          { status, headers },
        ),
      );
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

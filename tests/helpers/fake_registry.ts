/**
 * A small registry on loopback for what Debian's docker-registry cannot be
 * made to do: serve wrong bytes for a digest, cut a blob transfer short, or
 * ask for Bearer tokens from its own token endpoint. It serves images built
 * in memory (tests/helpers/image_layers.ts) and logs every request.
 */
import type { BuiltImage } from "./image_layers.ts";

export interface FakeRegistryOptions {
  /** Token auth: GET /token with these basic credentials answers a bearer token. */
  bearer?: { user: string; password: string };
  /** Digests whose blob is served as garbage of the same length. */
  corrupt?: Set<string>;
  /** Digests whose first full download stops after this many bytes. */
  cutOnce?: Map<string, number>;
  /** Manifests served for a tag with wrong bytes under the right digest header. */
  corruptManifests?: Set<string>;
  /** OAuth2: POST /token with grant_type=refresh_token and this token answers an access token. */
  refreshToken?: string;
  /** Milliseconds each blob answer waits before its body (to observe concurrency). */
  blobDelayMs?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export interface FakeRegistry {
  host: string;
  requests: LoggedRequest[];
  /** The most blob requests that were in flight at once. */
  maxConcurrentBlobs(): number;
  /** Adds an image under `repo:tag`. */
  add(repo: string, tag: string, img: BuiltImage): void;
  /** Adds an index (bytes, digest) under `repo:tag`; its images must be added under any tag. */
  addIndex(
    repo: string,
    tag: string,
    index: { bytes: Uint8Array; digest: string; mediaType: string },
  ): void;
  stop(): Promise<void>;
}

export function startFakeRegistry(opts: FakeRegistryOptions = {}): FakeRegistry {
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, { bytes: Uint8Array; digest: string; mediaType: string }>();
  const requests: LoggedRequest[] = [];
  const tokens = new Set<string>();
  const cut = new Map(opts.cutOnce ?? []);
  const ac = new AbortController();
  let host = "";
  let inflight = 0, maxInflight = 0;

  const unauthorized = () =>
    new Response(
      JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
      {
        status: 401,
        headers: {
          "content-type": "application/json",
          "www-authenticate": `Bearer realm="${
            opts.tls ? "https" : "http"
          }://${host}/token",service="fake-registry",scope="repository:x:pull"`,
        },
      },
    );

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen() {},
    ...(opts.tls ?? {}),
  }, async (req) => {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization") ?? undefined;
    requests.push({
      method: req.method,
      path: url.pathname + url.search,
      range: req.headers.get("range") ?? undefined,
      authorization,
    });
    if (url.pathname === "/token" && req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      if (
        !opts.refreshToken || form.get("grant_type") !== "refresh_token" ||
        form.get("refresh_token") !== opts.refreshToken
      ) {
        return Response.json({ error: "invalid_grant" }, { status: 401 });
      }
      const token = crypto.randomUUID();
      tokens.add(token);
      return Response.json({ access_token: token, expires_in: 300, refresh_token: "next" });
    }
    if (url.pathname === "/token") {
      const b = opts.bearer!;
      if (authorization !== "Basic " + btoa(`${b.user}:${b.password}`)) {
        return new Response(JSON.stringify({ details: "incorrect username or password" }), {
          status: 401,
        });
      }
      const token = crypto.randomUUID();
      tokens.add(token);
      return Response.json({ token, expires_in: 300 });
    }
    if (opts.bearer || opts.refreshToken) {
      const tok = authorization?.startsWith("Bearer ") ? authorization.slice(7) : "";
      if (!tokens.has(tok)) return unauthorized();
    }
    if (url.pathname === "/v2/") return Response.json({});
    let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const entry = manifests.get(`${m[1]}:${m[2]}`);
      if (!entry) {
        return Response.json({
          errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }],
        }, {
          status: 404,
        });
      }
      let bytes = entry.bytes;
      if (opts.corruptManifests?.has(m[2])) {
        bytes = new TextEncoder().encode(new TextDecoder().decode(bytes).replace("}", ' ,"x":1}'));
      }
      return new Response(req.method === "HEAD" ? null : bytes.slice(), {
        headers: {
          "content-type": entry.mediaType,
          "docker-content-digest": entry.digest,
          "content-length": String(bytes.length),
        },
      });
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (m) {
      const digest = m[2];
      let data = blobs.get(digest);
      if (!data) {
        return Response.json({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }, {
          status: 404,
        });
      }
      if (opts.corrupt?.has(digest)) data = data.map((b) => b ^ 0x5a);
      if (opts.blobDelayMs) {
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        await new Promise((r) => setTimeout(r, opts.blobDelayMs));
        inflight--;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
      const start = range ? Number(range[1]) : 0;
      if (start > data.length) return new Response(null, { status: 416 });
      const body = data.subarray(start);
      const limit = !range ? cut.get(digest) : undefined;
      if (limit !== undefined) {
        cut.delete(digest);
        // Sends `limit` bytes, then breaks the connection.
        const stream = new ReadableStream<Uint8Array>({
          start(ctl) {
            ctl.enqueue(body.slice(0, limit));
          },
          async pull(ctl) {
            await new Promise((r) => setTimeout(r, 50));
            ctl.error(new Error("connection cut by the test"));
          },
        });
        return new Response(stream, {
          headers: { "content-length": String(body.length) },
        });
      }
      return new Response(body.slice(), {
        status: range ? 206 : 200,
        headers: {
          "content-length": String(body.length),
          ...(range ? { "content-range": `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
          "docker-content-digest": digest,
        },
      });
    }
    return new Response("not found", { status: 404 });
  });
  host = `127.0.0.1:${server.addr.port}`;

  return {
    host,
    requests,
    maxConcurrentBlobs: () => maxInflight,
    add(repo, tag, img) {
      for (const [d, b] of img.blobs) blobs.set(d, b);
      const entry = {
        bytes: img.manifestBytes,
        digest: img.manifestDigest,
        mediaType: img.manifest.mediaType!,
      };
      manifests.set(`${repo}:${tag}`, entry);
      manifests.set(`${repo}:${img.manifestDigest}`, entry);
    },
    addIndex(repo, tag, index) {
      manifests.set(`${repo}:${tag}`, index);
      manifests.set(`${repo}:${index.digest}`, index);
    },
    async stop() {
      ac.abort();
      await server.finished;
    },
  };
}

/**
 * A client of one repository on an OCI distribution registry (the Docker
 * Registry HTTP API v2): ping `/v2/`, authenticate as the registry asks
 * (`WWW-Authenticate: Bearer` token flow with basic credentials or an OAuth2
 * refresh token, or `Basic`), fetch manifests (verified against the digest
 * asked for or announced) and blobs (with `Range` to resume).
 *
 * Endpoints are tried in order (mirrors, then the registry; HTTPS, then
 * HTTP for insecure registries) until one answers the manifest request.
 */
import { sha256Digest } from "../digest.ts";
import { DigestMismatchError, ImageError } from "../errors.ts";
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from "../oci_types.ts";
import type { Credentials } from "./credentials.ts";
import type { Endpoint } from "./endpoints.ts";
import { failureMessage, request, type RequestOptions } from "./transport.ts";

export const USER_AGENT = "berth/0.1.0 (docker-compatible)";

const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(", ");

/** A challenge from `WWW-Authenticate`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges allowed). */
export function parseChallenges(header: string | null): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re =
    /([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)((?:[A-Za-z0-9_-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/g;
  for (const m of header.matchAll(re)) {
    const params: Record<string, string> = {};
    for (const p of m[2].matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
    }
    out.push({ scheme: m[1].toLowerCase(), params });
  }
  return out;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** The registry's error list (`{"errors":[{"code","message"}]}`) as Docker prints it. */
async function registryErrorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (body.errors?.length) {
      return body.errors.map((e) =>
        `${(e.code ?? "unknown").toLowerCase().replace(/_/g, " ")}: ${e.message ?? ""}`
      )
        .join(", ");
    }
  } catch { /* not JSON */ }
  return text.trim() || res.statusText || `status ${res.status}`;
}

export interface RepositoryClientOptions {
  /** Repository path in the registry (`library/busybox`). */
  repository: string;
  /** Familiar name for messages (`busybox`). */
  familiarName: string;
  endpoints: Endpoint[];
  credentials?: Credentials;
  signal?: AbortSignal;
}

export class RepositoryClient {
  #endpoint?: Endpoint;
  #challenge?: Challenge | null;
  #token?: { value: string; expires: number };

  constructor(readonly opts: RepositoryClientOptions) {}

  get endpoint(): Endpoint | undefined {
    return this.#endpoint;
  }

  /**
   * The manifest (or index) for a tag or digest. A manifest asked for by
   * digest must hash to it; one asked for by tag must hash to the
   * Docker-Content-Digest the registry announces, if any.
   */
  async manifest(tagOrDigest: string): Promise<FetchedManifest> {
    const errors: string[] = [];
    for (const ep of this.opts.endpoints) {
      try {
        const r = await this.#manifestFrom(ep, tagOrDigest);
        this.#endpoint = ep;
        return r;
      } catch (e) {
        const last = ep === this.opts.endpoints[this.opts.endpoints.length - 1];
        // A mirror or an HTTPS attempt that fails for any reason falls back;
        // the registry's own answer (not found, unauthorized...) stands.
        if (last || !(ep.mirror || (e instanceof TransportError))) throw e;
        errors.push((e as Error).message);
        this.#challenge = undefined;
        this.#token = undefined;
      }
    }
    throw new ImageError("unavailable", errors.join("; "));
  }

  async #manifestFrom(ep: Endpoint, ref: string): Promise<FetchedManifest> {
    const url = `${ep.url}/v2/${this.opts.repository}/manifests/${ref}`;
    const res = await this.#authorized(ep, url, { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      const detail = await registryErrorText(res);
      throw new ImageError(
        "not-found",
        `manifest for ${this.opts.familiarName}${
          ref.startsWith("sha256:") ? "@" : ":"
        }${ref} not found: ${detail}`,
      );
    }
    if (!res.ok) throw await this.#statusError(res, "GET", url);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = sha256Digest(bytes);
    const expected = ref.startsWith("sha256:") ? ref : res.headers.get("docker-content-digest");
    if (expected && expected.startsWith("sha256:") && expected !== digest) {
      throw new DigestMismatchError(expected, digest, "manifest");
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim();
    try {
      const parsed = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof parsed.mediaType === "string") mediaType = parsed.mediaType;
      else if (!mediaType || mediaType === "application/json") {
        mediaType = Array.isArray(parsed.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
      }
      if (parsed.schemaVersion === 1) {
        throw new ImageError(
          "invalid",
          `${this.opts.familiarName}: Docker Image Format v1 and Docker Image manifest version 2, schema 1 are not supported`,
        );
      }
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError("invalid", `manifest ${digest}: not JSON: ${(e as Error).message}`);
    }
    if (![...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].includes(mediaType)) {
      throw new ImageError("invalid", `unsupported manifest media type ${mediaType}`);
    }
    return { bytes, mediaType, digest };
  }

  /**
   * A blob's response from `offset` on: status 206 when the registry honoured
   * the range, 200 when it sent the whole blob.
   */
  async blob(digest: string, offset = 0): Promise<Response> {
    const ep = this.#endpoint ?? this.opts.endpoints[this.opts.endpoints.length - 1];
    const url = `${ep.url}/v2/${this.opts.repository}/blobs/${digest}`;
    const headers: Record<string, string> = {};
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const res = await this.#authorized(ep, url, { headers });
    if (res.status === 200 || res.status === 206 || res.status === 416) return res;
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ImageError("not-found", `blob ${digest} not found in ${this.opts.familiarName}`);
    }
    throw await this.#statusError(res, "GET", url);
  }

  async #statusError(res: Response, method: string, url: string): Promise<ImageError> {
    const detail = await registryErrorText(res);
    if (res.status === 401 || res.status === 403) {
      if (/denied|name unknown/i.test(detail) && !this.opts.credentials) {
        return new ImageError(
          "forbidden",
          `pull access denied for ${this.opts.familiarName}, repository does not exist or may require 'docker login': ${detail}`,
        );
      }
      return new ImageError(
        res.status === 401 ? "unauthorized" : "forbidden",
        `${method} "${url}": ${detail}`,
      );
    }
    if (res.status === 429) {
      return new ImageError("unavailable", `${method} "${url}": toomanyrequests: ${detail}`);
    }
    return new ImageError(
      res.status >= 500 ? "unavailable" : "system",
      `${method} "${url}": ${detail}`,
    );
  }

  /** Sends a request with the endpoint's authentication, pinging first to learn it. */
  async #authorized(ep: Endpoint, url: string, opts: RequestOptions): Promise<Response> {
    if (this.#challenge === undefined) await this.#ping(ep);
    const send = async () => {
      const headers: Record<string, string> = { "User-Agent": USER_AGENT, ...opts.headers };
      const auth = await this.#authorization(ep);
      if (auth) headers.Authorization = auth;
      return await this.#send(url, { ...opts, headers, insecureTls: ep.insecureTls });
    };
    let res = await send();
    if (res.status === 401 && this.#challenge === null) {
      // The ping needed no auth but this repository does: learn its challenge.
      const c = parseChallenges(res.headers.get("www-authenticate"))[0];
      if (c) {
        await res.body?.cancel();
        this.#challenge = c;
        res = await send();
      }
    }
    return res;
  }

  async #send(url: string, opts: RequestOptions): Promise<Response> {
    try {
      return await request(url, { ...opts, signal: this.opts.signal });
    } catch (e) {
      if (this.opts.signal?.aborted) throw e;
      throw new TransportError(failureMessage(opts.method ?? "GET", url, e), e);
    }
  }

  async #ping(ep: Endpoint): Promise<void> {
    const url = `${ep.url}/v2/`;
    const res = await this.#send(url, {
      headers: { "User-Agent": USER_AGENT },
      insecureTls: ep.insecureTls,
    });
    await res.body?.cancel();
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers.get("www-authenticate"));
      this.#challenge = challenges.find((c) => c.scheme === "bearer") ??
        challenges.find((c) => c.scheme === "basic") ?? null;
      return;
    }
    if (res.ok) {
      this.#challenge = null;
      return;
    }
    throw new TransportError(`GET "${url}": not a registry (status ${res.status})`);
  }

  async #authorization(ep: Endpoint): Promise<string | undefined> {
    const ch = this.#challenge;
    const creds = this.opts.credentials;
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      if (!creds?.username && !creds?.password) {
        throw new ImageError("unauthorized", `GET "${ep.url}/v2/": no basic auth credentials`);
      }
      return "Basic " + btoa(`${creds.username}:${creds.password}`);
    }
    if (ch.scheme !== "bearer") {
      throw new ImageError("unauthorized", `unsupported authentication scheme ${ch.scheme}`);
    }
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    if (this.#token && this.#token.expires > Date.now()) return `Bearer ${this.#token.value}`;
    this.#token = await this.#fetchToken(ep, ch, creds);
    return `Bearer ${this.#token.value}`;
  }

  /** The token flow of the distribution spec (GET with basic auth, or OAuth2 POST with a refresh token). */
  async #fetchToken(
    ep: Endpoint,
    ch: Challenge,
    creds: Credentials | undefined,
  ): Promise<{ value: string; expires: number }> {
    const realm = ch.params.realm;
    if (!realm) throw new ImageError("unauthorized", "bearer challenge without a realm");
    const scope = `repository:${this.opts.repository}:pull`;
    let res: Response;
    const insecureTls = ep.insecureTls;
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        service: ch.params.service ?? "",
        scope,
        client_id: "docker",
        access_type: "offline",
      });
      res = await this.#send(realm, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT },
        body: form.toString(),
        insecureTls,
      });
    } else {
      const u = new URL(realm);
      if (ch.params.service) u.searchParams.set("service", ch.params.service);
      u.searchParams.set("scope", scope);
      const headers: Record<string, string> = { "User-Agent": USER_AGENT };
      if (creds?.username || creds?.password) {
        u.searchParams.set("account", creds.username ?? "");
        headers.Authorization = "Basic " + btoa(`${creds.username}:${creds.password}`);
      }
      res = await this.#send(u.toString(), { headers, insecureTls });
    }
    if (!res.ok) {
      const detail = await registryErrorText(res);
      throw new ImageError(
        res.status === 401 ? "unauthorized" : "forbidden",
        `Get "${realm}": ${res.status === 401 ? "unauthorized: " : ""}${detail}`,
      );
    }
    const body = await res.json() as { token?: string; access_token?: string; expires_in?: number };
    const value = body.token ?? body.access_token;
    if (!value) throw new ImageError("unauthorized", `${realm}: no token in the answer`);
    const ttl = Math.max(60, body.expires_in ?? 60) * 1000;
    return { value, expires: Date.now() + ttl - 10_000 };
  }
}

/** A failure to talk to an endpoint at all (connection, TLS, not a registry). */
export class TransportError extends ImageError {
  constructor(message: string, cause?: unknown) {
    super("unavailable", message, { cause });
  }
}

/**
 * `docker login` on the daemon side (POST /auth): checks credentials against
 * a registry as dockerd's loginV2 does — `GET /v2/`, then the same with the
 * credentials the registry's challenge asks for (Basic, or a Bearer token
 * from its token service) — trying HTTPS and then, for insecure
 * registries, HTTP. Nothing is stored: the CLI keeps the credentials.
 */
import type { AuthConfig } from "../api_types.ts";
import { ImageError } from "../errors.ts";
import { DEFAULT_DOMAIN } from "../reference.ts";
import { type Challenge, parseChallenges, USER_AGENT } from "./client.ts";
import { type Credentials, credentialsOf, normalizeServerAddress } from "./credentials.ts";
import { type EndpointSettings, endpointsFor } from "./endpoints.ts";
import { request } from "./transport.ts";

/** POST /auth's answer (registry.AuthenticateOKBody). */
export interface AuthenticateOKBody {
  Status: string;
  IdentityToken: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Fails with an "unauthorized" ImageError (401) when the registry refuses the credentials. */
export async function login(
  auth: AuthConfig,
  settings: EndpointSettings = {},
): Promise<AuthenticateOKBody> {
  const domain = auth.serveraddress ? normalizeServerAddress(auth.serveraddress) : DEFAULT_DOMAIN;
  if (!domain) {
    throw new ImageError("invalid", `unable to parse server address: ${auth.serveraddress}`);
  }
  const creds = credentialsOf(auth) ?? {};
  // Logins go to the registry itself, never to a mirror.
  const endpoints = endpointsFor(domain, settings).filter((e) => !e.mirror);
  let lastError: Error | undefined;
  for (const ep of endpoints) {
    const url = `${ep.url}/v2/`;
    const get = (headers: Record<string, string> = {}) =>
      request(url, {
        headers: { "User-Agent": USER_AGENT, ...headers },
        insecureTls: ep.insecureTls,
      })
        .catch((e) => {
          throw new ImageError("system", `Get "${url}": ${(e as Error).message}`);
        });
    let res: Response;
    try {
      res = await get();
    } catch (e) {
      // Not reachable this way (TLS to a plain HTTP registry...): the next endpoint.
      lastError = e as Error;
      continue;
    }
    await res.body?.cancel();
    let identityToken = "";
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers.get("www-authenticate"));
      const bearer = challenges.find((c) => c.scheme === "bearer");
      const basic = challenges.find((c) => c.scheme === "basic");
      let authorization: string | undefined;
      if (bearer) {
        const t = await bearerToken(bearer, creds, url, ep.insecureTls);
        authorization = `Bearer ${t.token}`;
        identityToken = t.refreshToken ?? "";
      } else if (basic) {
        authorization = "Basic " + b64(`${creds.username ?? ""}:${creds.password ?? ""}`);
      }
      res = authorization ? await get({ Authorization: authorization }) : res;
      await res.body?.cancel();
    }
    if (res.status === 200) return { Status: "Login Succeeded", IdentityToken: identityToken };
    throw new ImageError(
      "unauthorized",
      `login attempt to ${url} failed with status: ${res.status} ${
        STATUS_TEXT[res.status] ?? res.statusText
      }`,
    );
  }
  throw lastError ?? new ImageError("system", `no endpoint for ${domain}`);
}

function b64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}

/**
 * A token from the registry's token service for the login itself (no
 * repository scope), asking for a refresh token as the CLI's identity token.
 */
async function bearerToken(
  ch: Challenge,
  creds: Credentials,
  v2url: string,
  insecureTls: boolean,
): Promise<{ token: string; refreshToken?: string }> {
  const realm = ch.params.realm;
  if (!realm) {
    throw new ImageError("unauthorized", `Get "${v2url}": bearer challenge without realm`);
  }
  const headers: Record<string, string> = { "User-Agent": USER_AGENT };
  let res: Response;
  if (creds.identityToken) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: creds.identityToken,
      service: ch.params.service ?? "",
      client_id: "docker",
      access_type: "offline",
    });
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    res = await request(realm, { method: "POST", headers, body: form.toString(), insecureTls });
  } else {
    const u = new URL(realm);
    if (ch.params.service) u.searchParams.set("service", ch.params.service);
    u.searchParams.set("client_id", "docker");
    if (creds.username) {
      u.searchParams.set("account", creds.username);
      u.searchParams.set("offline_token", "true");
      headers.Authorization = "Basic " + b64(`${creds.username}:${creds.password ?? ""}`);
    }
    res = await request(u.toString(), { headers, insecureTls });
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.trim() || (STATUS_TEXT[res.status] ?? res.statusText);
    try {
      const body = JSON.parse(text) as { details?: string; errors?: { message?: string }[] };
      detail = body.details ?? body.errors?.[0]?.message ?? detail;
    } catch { /* not JSON */ }
    throw new ImageError(
      "unauthorized",
      `Get "${v2url}": ${res.status === 401 ? "unauthorized: " : ""}${detail}`,
    );
  }
  const body = JSON.parse(text) as {
    token?: string;
    access_token?: string;
    refresh_token?: string;
  };
  const token = body.token ?? body.access_token;
  if (!token) {
    throw new ImageError("unauthorized", `Get "${v2url}": no token in the answer of ${realm}`);
  }
  return { token, refreshToken: body.refresh_token };
}

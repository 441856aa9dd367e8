/**
 * Registry credentials: the X-Registry-Auth header of a request (base64url
 * JSON AuthConfig, as the Docker CLI sends it) or, when the request brings
 * none, the daemon user's `~/.docker/config.json` `auths` (base64
 * `user:password` in `auth`, or an `identitytoken`).
 */
import type { AuthConfig } from "../api_types.ts";
import { DEFAULT_DOMAIN } from "../reference.ts";
import { invalid } from "../errors.ts";

/** What a registry login needs: a user and password, or an OAuth2 refresh token, or a bearer token. */
export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (Docker's `identitytoken`). */
  identityToken?: string;
  /** A registry bearer token used as it is (Docker's `registrytoken`). */
  registryToken?: string;
}

/** Docker Hub's key in config.json and in AuthConfig.serveraddress. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

function b64decode(s: string): string {
  const std = s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  const padded = std + "=".repeat((4 - std.length % 4) % 4);
  const bin = atob(padded);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** Decodes an X-Registry-Auth header; undefined for an absent or empty one. */
export function decodeRegistryAuth(header: string | null | undefined): AuthConfig | undefined {
  if (!header || header.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(b64decode(header.trim()));
  } catch (e) {
    throw invalid(`invalid X-Registry-Auth header: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid("invalid X-Registry-Auth header: not a JSON object");
  }
  const a = parsed as AuthConfig;
  return Object.values(a).some((v) => typeof v === "string" && v !== "") ? a : undefined;
}

/** Encodes an AuthConfig as the CLI does (for tests and clients). */
export function encodeRegistryAuth(a: AuthConfig): string {
  const bytes = new TextEncoder().encode(JSON.stringify(a));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

/** The credentials an AuthConfig carries (its `auth` field is `base64(user:password)`). */
export function credentialsOf(a: AuthConfig): Credentials | undefined {
  if (a.registrytoken) return { registryToken: a.registrytoken };
  if (a.identitytoken) return { identityToken: a.identitytoken, username: a.username };
  if (a.username || a.password) return { username: a.username ?? "", password: a.password ?? "" };
  if (a.auth) {
    const plain = b64decode(a.auth);
    const i = plain.indexOf(":");
    if (i === -1) throw invalid("invalid auth configuration: auth is not user:password");
    return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  return undefined;
}

/** `https://host:port/v1/` and `host:port` both name `host:port`. */
export function normalizeServerAddress(s: string): string {
  let host = s.replace(/^[a-z]+:\/\//i, "");
  host = host.split("/")[0];
  if (host === "index.docker.io" || host === "registry-1.docker.io") host = DEFAULT_DOMAIN;
  return host;
}

/** The default config.json: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function defaultDockerConfigPath(): string | undefined {
  const dir = Deno.env.get("DOCKER_CONFIG");
  if (dir) return `${dir}/config.json`;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.docker/config.json` : undefined;
}

/** The `auths` entry of a Docker config.json for a registry domain. */
export function credentialsFromDockerConfig(
  path: string | undefined,
  domain: string,
): Credentials | undefined {
  if (!path) return undefined;
  let config: { auths?: Record<string, AuthConfig> };
  try {
    config = JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined; // absent or unreadable: no credentials, as the CLI treats it
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeServerAddress(key) === domain) return credentialsOf(entry);
  }
  return undefined;
}

/** Credentials for `domain`: the request's own first, else config.json's. */
export function resolveCredentials(
  domain: string,
  fromRequest: AuthConfig | undefined,
  dockerConfigPath: string | undefined,
): Credentials | undefined {
  if (fromRequest) {
    const c = credentialsOf(fromRequest);
    if (c) return c;
  }
  return credentialsFromDockerConfig(dockerConfigPath, domain);
}

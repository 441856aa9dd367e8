/** The Engine API versions berth speaks, and the `/v1.NN/` path prefix. */
import { badRequest } from "./errors.ts";

/** The newest API version served (Docker 27's). Clients negotiate down to it through /_ping. */
export const API_VERSION = "1.47";
/** The oldest API version accepted, as Docker's own minimum. */
export const MIN_API_VERSION = "1.24";

const PREFIX = /^\/v(\d+)\.(\d+)(\/.*)$/;

/** Compares "1.24"-style versions. */
export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split(".").map(Number);
  const [b1, b2] = b.split(".").map(Number);
  return a1 - b1 || a2 - b2;
}

/**
 * Splits `/v1.45/containers/json` into the version and the path; a path
 * without a prefix is served at the current version. Versions outside the
 * supported range are refused as dockerd refuses them.
 */
export function splitVersion(path: string): { version: string; path: string } {
  const m = PREFIX.exec(path);
  if (!m) return { version: API_VERSION, path };
  const version = `${Number(m[1])}.${Number(m[2])}`;
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw badRequest(
      `client version ${version} is too old. Minimum supported API version is ` +
        `${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(version, API_VERSION) > 0) {
    throw badRequest(
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  return { version, path: m[3] };
}

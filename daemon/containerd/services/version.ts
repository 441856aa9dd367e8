/** containerd.services.version.v1.Version. */
import type { Handlers } from "../server.ts";

/** berth's release. */
export const BERTH_VERSION = "0.1.0";
/**
 * The version reported to clients: the containerd API berth implements
 * (1.6), as semver with berth's own release in the build metadata, so that
 * clients comparing versions see a 1.6.
 */
export const VERSION = `1.6.20+berth.${BERTH_VERSION}`;
export const REVISION = `berth-${BERTH_VERSION}`;

export interface VersionResponse {
  version: string;
  revision: string;
}

export function versionService(): Handlers {
  return {
    Version: (): Promise<VersionResponse> =>
      Promise.resolve({ version: VERSION, revision: REVISION }),
  };
}

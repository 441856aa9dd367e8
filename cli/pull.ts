/**
 * Pulling an image through the daemon (POST /images/create), shared by
 * `pull`, `run` and `create`: the reference normalized as the CLI does, the
 * registry credentials from config.json in X-Registry-Auth, the progress
 * stream rendered to the given output.
 */
import type { Cli } from "./cli.ts";
import { base64url, registryAuthHeader } from "./config.ts";
import { displayResponse } from "./progress.ts";
import { terminalSize } from "./terminal.ts";
import {
  familiarString,
  parseNormalized,
  type Reference,
  ReferenceError,
  repositoryName,
  withDefaultTag,
} from "../daemon/images/reference.ts";

/** Parses a user's image reference; errors read as the CLI's ("invalid reference format"). */
export function parseImageRef(image: string): Reference {
  try {
    return parseNormalized(image);
  } catch (e) {
    if (e instanceof ReferenceError) throw new Error(e.message);
    throw e;
  }
}

/** `busybox` → `busybox:latest` (what run prints in "Unable to find image"). */
export function taggedFamiliar(image: string): string {
  return familiarString(withDefaultTag(parseImageRef(image)));
}

/** The X-Registry-Auth value for the registry of `ref` ("e30=" — `{}` — when none). */
export function authFor(cli: Cli, ref: Reference): string {
  let cfg = {};
  try {
    cfg = cli.config.load();
  } catch { /* unreadable config: anonymous */ }
  return registryAuthHeader(cfg, ref.domain) ?? base64url("{}");
}

export interface PullOptions {
  all?: boolean;
  platform?: string;
  /** Render the progress stream (false: read it silently). */
  progress: boolean;
  /** Where progress goes (pull: stdout, run/create: stderr). */
  out: (s: string) => void;
  terminal: boolean;
  /** The descriptor `out` writes to (its terminal's width sizes the bars). */
  fd?: number;
}

/** Pulls `ref` (already tagged unless `all`). */
export async function pullImage(cli: Cli, ref: Reference, opts: PullOptions): Promise<void> {
  const tag = ref.digest ?? ref.tag;
  const res = await cli.client.request("POST", "/images/create", {
    query: {
      fromImage: repositoryName(ref),
      tag: opts.all ? undefined : tag,
      platform: opts.platform,
    },
    headers: { "X-Registry-Auth": authFor(cli, ref) },
  });
  if (opts.progress) {
    // Bars are drawn only when the output terminal is wider than 110 columns.
    const width = opts.terminal ? (await terminalSize(cli, [opts.fd ?? 1]))?.cols : undefined;
    await displayResponse(res, opts.out, { terminal: opts.terminal, width });
  } else {
    await displayResponse(res, () => {}, { terminal: false });
  }
}

/**
 * Platforms: the host's (`linux/amd64`, `linux/arm64/v8`), parsing of
 * `os/arch[/variant]` as `docker pull --platform` takes it, and choosing a
 * manifest from an index or manifest list.
 */
import { invalid, notFound } from "./errors.ts";
import type { Descriptor, Platform } from "./oci_types.ts";

const ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

export function hostPlatform(): Platform {
  const architecture = ARCH[Deno.build.arch] ?? Deno.build.arch;
  return { os: "linux", architecture, ...(architecture === "arm64" ? { variant: "v8" } : {}) };
}

/** Normalizes architecture aliases and default variants (containerd's platforms.Normalize). */
export function normalizePlatform(p: Platform): Platform {
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (arch === "x86_64" || arch === "x86-64") arch = "amd64";
  if (arch === "aarch64") arch = "arm64";
  if (arch === "arm64" && (variant === "8" || variant === undefined || variant === "")) {
    variant = "v8";
  }
  if (arch === "armhf") [arch, variant] = ["arm", "v7"];
  if (arch === "armel") [arch, variant] = ["arm", "v6"];
  if (arch === "arm" && (variant === undefined || variant === "")) variant = "v7";
  if (arch === "arm" && variant && /^\d$/.test(variant)) variant = `v${variant}`;
  if (arch === "amd64" && variant === "v1") variant = undefined;
  return { os: p.os.toLowerCase(), architecture: arch, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

export function parsePlatform(s: string): Platform {
  const parts = s.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === "")) {
    throw invalid(`"${s}": unknown operating system or architecture: invalid argument`);
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const a = normalizePlatform(want), b = normalizePlatform(have);
  return a.os === b.os && a.architecture === b.architecture &&
    (a.variant === undefined || a.variant === b.variant);
}

/** The manifest of an index for `want` (the first match, attestations skipped). */
export function selectManifest(manifests: Descriptor[], want: Platform): Descriptor {
  const candidates = manifests.filter((m) =>
    m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest" &&
    platformMatches(want, m.platform)
  );
  if (candidates.length === 0) {
    throw notFound(
      `no matching manifest for ${
        formatPlatform(normalizePlatform(want))
      } in the manifest list entries`,
    );
  }
  return candidates[0];
}

/**
 * `--security-opt`: no-new-privileges, seccomp (unconfined, or a profile in
 * Docker's JSON format, which the CLI sends inline), systempaths=unconfined,
 * and AppArmor and SELinux options, which are accepted and have no effect on
 * a host without those (as with Docker there). Anything else is Docker's 400.
 */
import type { Seccomp, SeccompSyscall } from "../../runtime/spec/types.ts";
import { badRequest } from "../api/errors.ts";

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** "default", "unconfined", or a profile converted to the OCI form. */
  seccomp: "default" | "unconfined" | Seccomp;
  /** systempaths=unconfined: no masked or read-only paths. */
  unconfinedPaths: boolean;
}

/** Parses HostConfig.SecurityOpt; `caps` are the container's (a profile's rules may depend on them). */
export function securityOptions(
  opts: string[] | null | undefined,
  caps: string[],
): SecurityOptions {
  const out: SecurityOptions = {
    noNewPrivileges: false,
    seccomp: "default",
    unconfinedPaths: false,
  };
  (opts ?? []).forEach((opt, i) => {
    // Docker accepts "key=value" and the older "key:value".
    const m = /^([a-z-]+)(?:[=:]([\s\S]*))?$/.exec(opt);
    const [key, value] = m ? [m[1], m[2]] : ["", undefined];
    const invalid = () => badRequest(`invalid --security-opt ${i + 1}: "${opt}"`);
    switch (key) {
      case "no-new-privileges":
        if (value === undefined || value === "true") out.noNewPrivileges = true;
        else if (value !== "false") throw invalid();
        break;
      case "seccomp":
        if (!value) throw invalid();
        if (value === "unconfined") out.seccomp = "unconfined";
        else if (value !== "builtin") out.seccomp = convertProfile(value, caps);
        break;
      case "systempaths":
        if (value !== "unconfined") throw invalid();
        out.unconfinedPaths = true;
        break;
      case "apparmor":
        if (!value) throw invalid();
        break; // no AppArmor here: as Docker on such a host, nothing to apply
      case "label":
        if (!value || !/^(disable|nested|(user|role|type|level|filetype):.+)$/.test(value)) {
          throw invalid();
        }
        break; // no SELinux here
      default:
        throw invalid();
    }
  });
  return out;
}

interface DockerSyscall {
  name?: string;
  names?: string[];
  action: string;
  args?: SeccompSyscall["args"] | null;
  errnoRet?: number;
  includes?: Filter;
  excludes?: Filter;
}

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface DockerProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: DockerSyscall[];
}

const HOST_ARCH: Record<string, { seccomp: string; docker: string }> = {
  x86_64: { seccomp: "SCMP_ARCH_X86_64", docker: "amd64" },
  aarch64: { seccomp: "SCMP_ARCH_AARCH64", docker: "arm64" },
};

/**
 * A profile in Docker's format, for this host and these capabilities: the
 * rules whose includes/excludes (capabilities, architectures, minimum
 * kernel) select them, and the architectures of this host's family.
 */
export function convertProfile(json: string, caps: string[]): Seccomp {
  let p: DockerProfile;
  try {
    p = JSON.parse(json);
  } catch (e) {
    throw badRequest(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (!p || typeof p !== "object" || !p.defaultAction) {
    throw badRequest("Decoding seccomp profile failed: defaultAction is missing");
  }
  const arch = HOST_ARCH[Deno.build.arch];
  const kernel = Deno.osRelease();
  const matches = (f: Filter | undefined, all: boolean): boolean => {
    if (!f) return all; // no includes: the rule applies; no excludes: it is kept
    const hits = [
      f.arches?.length ? f.arches.includes(arch.docker) : undefined,
      f.caps?.length
        ? (all ? f.caps.every((c) => caps.includes(c)) : f.caps.some((c) => caps.includes(c)))
        : undefined,
      f.minKernel ? kernelAtLeast(kernel, f.minKernel) : undefined,
    ].filter((h) => h !== undefined);
    return all ? hits.every(Boolean) : hits.some(Boolean);
  };
  const syscalls: SeccompSyscall[] = [];
  for (const s of p.syscalls ?? []) {
    const names = s.names?.length ? s.names : s.name ? [s.name] : [];
    if (!names.length || !s.action) {
      throw badRequest("Decoding seccomp profile failed: a rule without names or action");
    }
    if (!matches(s.includes, true) || matches(s.excludes, false)) continue;
    syscalls.push({
      names,
      action: s.action,
      ...(s.args?.length ? { args: s.args } : {}),
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
    });
  }
  const family = p.archMap?.find((a) => a.architecture === arch.seccomp);
  const architectures = family
    ? [family.architecture, ...(family.subArchitectures ?? [])]
    : p.architectures ?? [];
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(architectures.length ? { architectures } : {}),
    syscalls,
  };
}

function kernelAtLeast(release: string, min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((n) => parseInt(n, 10) || 0);
  const [a, b] = parse(release);
  const [c, d] = parse(min);
  return a !== c ? a > c : b >= d;
}

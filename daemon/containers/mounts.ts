/**
 * A container's mounts from HostConfig: `-v /host:/ctr[:opts]` (Binds) and
 * `--mount type=bind|tmpfs,...` (Mounts), as OCI mounts for the spec and as
 * Docker's MountPoint list for inspect and list. Named volumes are not
 * implemented yet: refused with a message, never ignored.
 */
import type { Mount } from "../../runtime/spec/types.ts";
import type { HostConfig, MountPoint } from "../api/types.ts";
import { badRequest } from "../api/errors.ts";

/** HostConfig.Mounts[i] (the Engine API's Mount object). */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
  } | null;
  VolumeOptions?: unknown;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] } | null;
}

const PROPAGATIONS = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

/**
 * The mounts the user asked for: --tmpfs, -v binds and --mount (bind, tmpfs),
 * each destination at most once (Docker's "Duplicate mount point").
 */
export function userMounts(host: HostConfig): Mount[] {
  if ((host.VolumesFrom as string[] | null | undefined)?.length) {
    throw badRequest("--volumes-from is not supported yet: berth has no volumes yet");
  }
  const mounts: Mount[] = [];
  for (const [dest, opts] of Object.entries(host.Tmpfs ?? {})) {
    mounts.push({
      destination: dest,
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "nodev", "noexec", ...(opts ? opts.split(",") : [])],
    });
  }
  for (const bind of host.Binds ?? []) mounts.push(parseBind(bind));
  mounts.push(...apiMounts(host));
  checkDuplicateMounts(mounts);
  return mounts;
}

/** `-v /host:/ctr[:ro|rw]` binds (named volumes come later). */
export function parseBind(bind: string): Mount {
  const parts = bind.split(":");
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw badRequest(`invalid volume specification: '${bind}'`);
  }
  const [src, dst, mode = "rw"] = parts;
  if (!src.startsWith("/")) {
    throw badRequest(
      `invalid volume specification: '${bind}': named volumes are not supported yet`,
    );
  }
  if (!dst.startsWith("/")) {
    throw badRequest(
      `invalid mount config for type "bind": invalid mount path: '${dst}' mount path must be absolute`,
    );
  }
  const opts = mode.split(",");
  for (const o of opts) {
    if (!["ro", "rw", "z", "Z", ...PROPAGATIONS].includes(o)) {
      throw badRequest(`invalid mode: ${mode}`);
    }
  }
  try {
    Deno.statSync(src);
  } catch {
    Deno.mkdirSync(src, { recursive: true });
  }
  return {
    destination: dst,
    type: "bind",
    source: src,
    options: [
      "rbind",
      opts.includes("ro") ? "ro" : "rw",
      ...opts.filter((o) => PROPAGATIONS.includes(o)),
    ],
  };
}

/** The OCI mounts for HostConfig.Mounts; throws Docker's 400s for a bad one. */
export function apiMounts(host: HostConfig): Mount[] {
  return ((host.Mounts ?? []) as ApiMount[]).map((m) => {
    const type = m.Type ?? "";
    const invalid = (why: string) => badRequest(`invalid mount config for type "${type}": ${why}`);
    const target = m.Target ?? "";
    if (!target) throw invalid("field Target must not be empty");
    if (!target.startsWith("/")) {
      throw invalid(`invalid mount path: '${target}' mount path must be absolute`);
    }
    if (type === "bind") {
      const source = m.Source ?? "";
      if (!source) throw invalid("field Source must not be empty");
      if (!source.startsWith("/")) {
        throw invalid(`invalid mount path: '${source}' mount path must be absolute`);
      }
      try {
        Deno.statSync(source);
      } catch {
        if (!m.BindOptions?.CreateMountpoint) {
          throw invalid(`bind source path does not exist: ${source}`);
        }
        Deno.mkdirSync(source, { recursive: true });
      }
      const propagation = m.BindOptions?.Propagation || "rprivate";
      if (!PROPAGATIONS.includes(propagation)) {
        throw invalid(`invalid propagation mode: ${propagation}`);
      }
      return {
        destination: target,
        type: "bind",
        source,
        options: [
          m.BindOptions?.NonRecursive ? "bind" : "rbind",
          m.ReadOnly ? "ro" : "rw",
          propagation,
        ],
      };
    }
    if (type === "tmpfs") {
      if (m.Source) throw invalid("field Source must not be specified");
      const t = m.TmpfsOptions ?? {};
      const options = ["nosuid", "nodev", "noexec"];
      if (t.SizeBytes) options.push(`size=${t.SizeBytes}`);
      if (t.Mode) options.push(`mode=${t.Mode.toString(8)}`);
      if (m.ReadOnly) options.push("ro");
      return { destination: target, type: "tmpfs", source: "tmpfs", options };
    }
    if (type === "volume") {
      throw badRequest(
        `invalid mount config for type "volume": named volumes are not supported yet`,
      );
    }
    throw badRequest(`mount type unknown or not supported by berth: "${type}"`);
  });
}

/** Refuses two mounts at one destination, as Docker does. */
export function checkDuplicateMounts(mounts: Mount[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    const dest = m.destination.replace(/\/+$/, "") || "/";
    if (seen.has(dest)) throw badRequest(`Duplicate mount point: ${dest}`);
    seen.add(dest);
  }
}

/** Docker's MountPoint list (inspect's and list's Mounts) for the binds and --mount mounts. */
export function mountPoints(host: HostConfig): MountPoint[] {
  const out: MountPoint[] = [];
  for (const bind of host.Binds ?? []) {
    const [source, destination, mode = ""] = bind.split(":");
    const opts = mode ? mode.split(",") : [];
    out.push({
      Type: "bind",
      Source: source,
      Destination: destination,
      Mode: mode,
      RW: !opts.includes("ro"),
      Propagation: opts.find((o) => PROPAGATIONS.includes(o)) ?? "rprivate",
    });
  }
  for (const m of (host.Mounts ?? []) as ApiMount[]) {
    if (m.Type !== "bind" && m.Type !== "tmpfs") continue;
    out.push({
      Type: m.Type,
      Source: m.Source ?? "",
      Destination: m.Target ?? "",
      Mode: "",
      RW: !m.ReadOnly,
      Propagation: m.Type === "bind" ? m.BindOptions?.Propagation || "rprivate" : "",
    });
  }
  return out;
}

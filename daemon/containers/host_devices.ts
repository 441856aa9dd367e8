/**
 * `--device` and `--device-cgroup-rule`: host device nodes made in the
 * container (linux.devices) with the access Docker gives them in the
 * devices cgroup (linux.resources.devices), and extra cgroup rules.
 */
import type { Device, DeviceRule } from "../../runtime/spec/types.ts";
import { ApiError, badRequest } from "../api/errors.ts";
import { splitDev } from "../../runtime/linux/libc.ts";

/** HostConfig.Devices[i]. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** The nodes and cgroup rules for HostConfig.Devices (a directory maps every node below it). */
export function hostDevices(
  mappings: DeviceMapping[] | null | undefined,
): { devices: Device[]; rules: DeviceRule[] } {
  const devices: Device[] = [];
  const rules: DeviceRule[] = [];
  for (const m of mappings ?? []) {
    const access = m.CgroupPermissions || "rwm";
    if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
      throw badRequest(`invalid device mode: ${access}`);
    }
    const inContainer = m.PathInContainer || m.PathOnHost;
    for (const [host, target] of nodesAt(m.PathOnHost, inContainer)) {
      const st = Deno.statSync(host);
      const type = st.isCharDevice ? "c" : "b";
      const { major, minor } = splitDev(st.rdev ?? 0);
      devices.push({
        type,
        path: target,
        major,
        minor,
        fileMode: st.mode! & 0o7777,
        uid: st.uid ?? 0,
        gid: st.gid ?? 0,
      });
      rules.push({ allow: true, type, major, minor, access });
    }
  }
  return { devices, rules };
}

/** [host path, container path] of each device node at `host` (itself, or every one below a directory). */
function nodesAt(host: string, target: string): [string, string][] {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(host);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file or directory" : String(e);
    throw new ApiError(
      500,
      `error gathering device information while adding custom device "${host}": ${why}`,
    );
  }
  if (st.isCharDevice || st.isBlockDevice) return [[host, target]];
  if (!st.isDirectory) {
    throw new ApiError(
      500,
      `error gathering device information while adding custom device "${host}": not a device node`,
    );
  }
  const out: [string, string][] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch {
        continue; // vanished, or a dangling link
      }
      if (info.isDirectory && !e.isSymlink) walk(path, `${rel}/${e.name}`);
      else if (info.isCharDevice || info.isBlockDevice) {
        out.push([path, `${target}${rel}/${e.name}`]);
      }
    }
  };
  walk(host, "");
  return out;
}

/** HostConfig.DeviceCgroupRules: "c 1:3 rwm", "b *:* m", "a *:* rwm". */
export function deviceCgroupRules(rules: string[] | null | undefined): DeviceRule[] {
  return (rules ?? []).map((rule) => {
    const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
    if (!m) throw badRequest(`invalid device cgroup format '${rule}'`);
    const num = (s: string) => (s === "*" ? null : Number(s));
    return {
      allow: true,
      type: m[1] as "a" | "b" | "c",
      major: num(m[2]),
      minor: num(m[3]),
      access: m[4],
    };
  });
}

type Throttle = { Path: string; Rate: number };

/**
 * --blkio-weight-device and --device-read-bps/-write-bps/-read-iops/-write-iops:
 * per-device block I/O settings, the device given by its path on the host.
 */
export function blockIODevices(host: Record<string, unknown>) {
  const device = (path: string) => {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(path);
    } catch {
      throw badRequest(`no such file or directory: ${path}`);
    }
    if (!st.isBlockDevice) throw badRequest(`${path} is not a block device`);
    return splitDev(st.rdev ?? 0);
  };
  const throttles = (key: string) =>
    ((host[key] ?? []) as Throttle[]).map((t) => ({ ...device(t.Path), rate: t.Rate }));
  const out: Record<string, unknown> = {};
  const weights = ((host.BlkioWeightDevice ?? []) as { Path: string; Weight: number }[])
    .map((w) => ({ ...device(w.Path), weight: w.Weight }));
  if (weights.length) out.weightDevice = weights;
  for (
    const [key, field] of [
      ["BlkioDeviceReadBps", "throttleReadBpsDevice"],
      ["BlkioDeviceWriteBps", "throttleWriteBpsDevice"],
      ["BlkioDeviceReadIOps", "throttleReadIOPSDevice"],
      ["BlkioDeviceWriteIOps", "throttleWriteIOPSDevice"],
    ]
  ) {
    const list = throttles(key);
    if (list.length) out[field] = list;
  }
  return out;
}

/**
 * The files dockerd writes for each container and bind-mounts over the
 * image's: /etc/hostname, /etc/hosts and /etc/resolv.conf (in the container's
 * directory, so `docker inspect` can name them and they survive restarts).
 */
import type { ContainerConfig, HostConfig } from "../api/types.ts";
import { badRequest } from "../api/errors.ts";

const DEFAULT_HOSTS = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

export interface EtcPaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function etcPaths(dir: string): EtcPaths {
  return { hostname: `${dir}/hostname`, hosts: `${dir}/hosts`, resolvConf: `${dir}/resolv.conf` };
}

function readHost(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

/** `--add-host name:ip` entries as hosts lines (Docker accepts name:ip and name=ip). */
function extraHosts(list: string[] | null | undefined): string[] {
  return (list ?? []).map((h) => {
    const m = /^([^:=]+)[:=](.+)$/.exec(h);
    if (!m) throw badRequest(`invalid argument "${h}" for "--add-host" flag: bad format`);
    return `${m[2]}\t${m[1]}`;
  });
}

/** Host resolv.conf without loopback name servers (unreachable from a container's own network). */
function resolvConf(host: HostConfig, hostNetwork: boolean): string {
  const base = readHost("/etc/resolv.conf", "");
  const lines: string[] = [];
  if (host.Dns?.length) {
    for (const l of base.split("\n")) if (!/^\s*nameserver\s/.test(l) && l) lines.push(l);
    for (const ns of host.Dns) lines.push(`nameserver ${ns}`);
  } else {
    for (const l of base.split("\n")) {
      if (!hostNetwork && /^\s*nameserver\s+(127\.|::1\b)/.test(l)) continue;
      if (l) lines.push(l);
    }
  }
  return lines.join("\n") + "\n";
}

/** Writes the three files (again at each start, as Docker refreshes them). */
export function writeEtcFiles(
  dir: string,
  id: string,
  config: ContainerConfig,
  host: HostConfig,
): EtcPaths {
  const paths = etcPaths(dir);
  const hostNetwork = host.NetworkMode === "host";
  const hostname = hostNetwork ? Deno.hostname() : (config.Hostname || id.slice(0, 12));
  const hosts = hostNetwork
    ? readHost("/etc/hosts", DEFAULT_HOSTS.join("\n") + "\n")
    : DEFAULT_HOSTS.join("\n") + "\n";
  const extra = extraHosts(host.ExtraHosts);
  Deno.writeTextFileSync(paths.hostname, hostname + "\n", { mode: 0o644 });
  Deno.writeTextFileSync(
    paths.hosts,
    hosts + (extra.length ? extra.join("\n") + "\n" : ""),
    { mode: 0o644 },
  );
  Deno.writeTextFileSync(paths.resolvConf, resolvConf(host, hostNetwork), { mode: 0o644 });
  return paths;
}

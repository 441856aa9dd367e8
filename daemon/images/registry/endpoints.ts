/**
 * Where a registry domain is reached: `docker.io` through the configured
 * `registry-mirrors` first and then registry-1.docker.io; any other domain
 * at `https://<domain>`. Registries listed in `insecure-registries` (by
 * host[:port] or by CIDR; 127.0.0.0/8 and ::1 always, as dockerd) are tried
 * over HTTPS without certificate checks, then over plain HTTP.
 */
import { DEFAULT_DOMAIN, DEFAULT_REGISTRY_HOST } from "../reference.ts";

export interface Endpoint {
  /** `https://host:port` (no trailing slash). */
  url: string;
  /** TLS without certificate verification. */
  insecureTls: boolean;
  mirror: boolean;
}

export interface EndpointSettings {
  registryMirrors?: string[];
  insecureRegistries?: string[];
}

function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsStr] = cidr.split("/");
  const a = ipv4ToInt(ip), b = ipv4ToInt(net);
  const bits = Number(bitsStr);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

/** The host part of `host[:port]` (IPv6 brackets removed). */
function hostOnly(hostport: string): string {
  if (hostport.startsWith("[")) return hostport.slice(1, hostport.indexOf("]"));
  return hostport.split(":")[0];
}

export function isInsecure(domain: string, insecure: string[]): boolean {
  const host = hostOnly(domain);
  if (host === "localhost" || host === "::1" || inCidr(host, "127.0.0.0/8")) return true;
  for (const entry of insecure) {
    const e = entry.replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
    const isCidr = /^[\d.]+\/\d+$/.test(e);
    if (isCidr ? inCidr(host, e) : e === domain || e === host) return true;
  }
  return false;
}

/** The endpoints to try for `domain`, in order. */
export function endpointsFor(domain: string, settings: EndpointSettings = {}): Endpoint[] {
  const insecure = settings.insecureRegistries ?? [];
  const out: Endpoint[] = [];
  if (domain === DEFAULT_DOMAIN) {
    for (const m of settings.registryMirrors ?? []) {
      const u = new URL(m);
      const base = `${u.protocol}//${u.host}`;
      out.push({ url: base, insecureTls: isInsecure(u.host, insecure), mirror: true });
    }
    out.push({ url: `https://${DEFAULT_REGISTRY_HOST}`, insecureTls: false, mirror: false });
    return out;
  }
  if (isInsecure(domain, insecure)) {
    out.push({ url: `https://${domain}`, insecureTls: true, mirror: false });
    out.push({ url: `http://${domain}`, insecureTls: false, mirror: false });
  } else {
    out.push({ url: `https://${domain}`, insecureTls: false, mirror: false });
  }
  return out;
}

/**
 * Small value formatters the Docker CLI's output uses everywhere: short ids,
 * ellipsis, Go's time.Time.String(), published ports.
 */

/** stringid.TruncateID: drops an "algo:" prefix, keeps 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(":");
  if (i >= 0) id = id.slice(i + 1);
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** formatter.Ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return "";
  const rs = [...s];
  if (max === 1) return rs[0] ?? "";
  if (rs.length <= max) return s;
  return rs.slice(0, max - 1).join("") + "…";
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Go's time.Time.String() for a local time: "2024-05-01 10:00:00 +0000 UTC". */
export function goTimeString(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  const zone = `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  let name = "UTC";
  if (off !== 0) {
    name = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d)
      .find((p) => p.type === "timeZoneName")?.value ?? zone;
  }
  const frac = d.getMilliseconds()
    ? "." + String(d.getMilliseconds()).padStart(3, "0").replace(/0+$/, "")
    : "";
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${frac} ${zone} ${name}`;
}

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** formatter.DisplayablePorts: "0.0.0.0:8080->80/tcp, 9000-9001/tcp". */
export function displayablePorts(ports: Port[] | null | undefined): string {
  const list = [...(ports ?? [])].sort((a, b) =>
    a.PrivatePort - b.PrivatePort || (a.IP ?? "").localeCompare(b.IP ?? "") ||
    (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || a.Type.localeCompare(b.Type)
  );
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const mappings: string[] = [];
  const form = (key: string, first: number, last: number) => {
    const parts = key.split("/");
    let type = parts[0], ip = "";
    if (parts.length > 1) {
      ip = parts[0];
      type = parts[1];
    }
    let g = String(first);
    if (first !== last) g = `${g}-${last}`;
    if (ip) g = `${ip}:${g}->${g}`;
    return `${g}/${type}`;
  };
  for (const p of list) {
    const cur = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== cur) {
        const host = p.IP.includes(":") ? `[${p.IP}]` : p.IP;
        mappings.push(`${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: cur, last: cur });
      order.push(key);
      continue;
    }
    if (cur === g.last + 1) {
      g.last = cur;
      continue;
    }
    result.push(form(key, g.first, g.last));
    groups.set(key, { first: cur, last: cur });
  }
  for (const key of order) {
    const g = groups.get(key)!;
    result.push(form(key, g.first, g.last));
  }
  return [...result, ...mappings].join(", ");
}

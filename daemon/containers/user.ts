/**
 * Resolving `--user` (name, uid, name:group, uid:gid) against the image's
 * /etc/passwd and /etc/group, read straight from the snapshot's layers (the
 * root filesystem is mounted only later, by the shim).
 */
import type { Mount } from "../images/mod.ts";
import { ApiError } from "../api/errors.ts";

/** The directories of an overlay (or bind) rootfs, topmost first. */
export function layerDirs(mounts: Mount[]): string[] {
  const m = mounts[0];
  if (!m) return [];
  if (m.type === "bind") return [m.source];
  const opt = (k: string) => m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  const upper = opt("upperdir");
  const lowers = opt("lowerdir")?.split(":") ?? [];
  return [...(upper ? [upper] : []), ...lowers];
}

/**
 * A file of the image as the container will see it: the topmost layer that
 * has it, unless a layer above deleted it (whiteout). Symlinks are not
 * followed (the files read here are regular in every sane image).
 */
export function readLayeredFile(dirs: string[], path: string): string | undefined {
  const rel = path.replace(/^\/+/, "");
  const base = rel.slice(rel.lastIndexOf("/") + 1);
  const parent = rel.slice(0, Math.max(0, rel.lastIndexOf("/")));
  for (const dir of dirs) {
    try {
      const st = Deno.lstatSync(`${dir}/${rel}`);
      // overlayfs whiteouts are 0:0 character devices.
      if (st.isCharDevice || !st.isFile) return undefined;
      return Deno.readTextFileSync(`${dir}/${rel}`);
    } catch { /* not in this layer */ }
    try {
      Deno.lstatSync(`${dir}/${parent}/.wh.${base}`);
      return undefined;
    } catch { /* no whiteout */ }
  }
  return undefined;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

function entries(text: string | undefined): string[][] {
  return (text ?? "").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
}

const isId = (s: string) => /^\d+$/.test(s);

/**
 * Docker's rules (moby's getUser over user.GetExecUser): numbers need no
 * entry, names do. The supplementary groups are the primary group (as
 * dockerd gives since CVE-2022-36109), the groups listing the user when no
 * group was named, then `groupAdd` (--group-add: names or numbers).
 */
export function resolveUser(
  spec: string | undefined,
  dirs: string[],
  groupAdd: string[] = [],
): ResolvedUser {
  const passwd = entries(readLayeredFile(dirs, "/etc/passwd"));
  const group = entries(readLayeredFile(dirs, "/etc/group"));
  const [userPart, groupPart] = (spec || "").split(":", 2) as [string, string | undefined];
  let uid = 0, gid = 0, name = "root";
  if (userPart) {
    const hit = passwd.find((e) => e[0] === userPart) ??
      (isId(userPart) ? passwd.find((e) => e[2] === userPart) : undefined);
    if (hit) {
      name = hit[0];
      uid = Number(hit[2]);
      gid = Number(hit[3]);
    } else if (isId(userPart)) {
      uid = Number(userPart);
      name = "";
    } else {
      throw new ApiError(
        400,
        `unable to find user ${userPart}: no matching entries in passwd file`,
      );
    }
  } else {
    const root = passwd.find((e) => e[2] === "0");
    if (root) gid = Number(root[3]);
  }
  if (groupPart !== undefined && groupPart !== "") {
    const hit = group.find((e) => e[0] === groupPart) ??
      (isId(groupPart) ? group.find((e) => e[2] === groupPart) : undefined);
    if (hit) gid = Number(hit[2]);
    else if (isId(groupPart)) gid = Number(groupPart);
    else {
      throw new ApiError(
        400,
        `unable to find group ${groupPart}: no matching entries in group file`,
      );
    }
  }
  // Groups listing the user by name count only when no group was named.
  const member = groupPart || !name
    ? []
    : group.filter((e) => (e[3] ?? "").split(",").includes(name)).map((e) => Number(e[2]));
  const added = groupAdd.map((g) => {
    const hit = group.find((e) => e[0] === g) ??
      (isId(g) ? group.find((e) => e[2] === g) : undefined);
    if (hit) return Number(hit[2]);
    if (isId(g)) return Number(g);
    throw new ApiError(400, `Unable to find group ${g}`);
  });
  return { uid, gid, additionalGids: [...new Set([gid, ...member, ...added])] };
}

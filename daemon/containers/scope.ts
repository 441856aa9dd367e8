/**
 * Paths inside a container's root filesystem, resolved on the host as
 * Docker resolves them (moby/sys/symlink FollowSymlinkInScope): every
 * symlink is followed with the container root as `/`, so `..`, relative and
 * absolute links can never lead outside the root. Go's path/filepath
 * semantics (Clean, Join, Split, Base, Dir) are reproduced, since Docker's
 * answers (names, error texts) depend on them.
 */

/** Go's filepath.Clean. */
export function clean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(seg);
  }
  const out = (rooted ? "/" : "") + parts.join("/");
  return out === "" ? "." : out;
}

/** Go's filepath.Join: empty elements are ignored, the result is cleaned. */
export function join(...elems: string[]): string {
  const used = elems.filter((e) => e !== "");
  return used.length ? clean(used.join("/")) : "";
}

/** Go's filepath.Split: [dir with its trailing slash, last element]. */
export function split(p: string): [string, string] {
  const i = p.lastIndexOf("/");
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

/** Go's filepath.Base. */
export function base(p: string): string {
  if (p === "") return ".";
  const s = p.replace(/\/+$/, "");
  if (s === "") return "/";
  return s.slice(s.lastIndexOf("/") + 1);
}

/** Go's filepath.Dir. */
export function dir(p: string): string {
  return clean(split(p)[0]);
}

/** Docker's archive.PreserveTrailingDotOrSeparator: keeps what Clean dropped from `original`. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (base(out) !== "." && base(original) === ".") {
    if (!out.endsWith("/")) out += "/";
    out += ".";
  }
  if (!out.endsWith("/") && original.endsWith("/")) out += "/";
  return out;
}

/** A path inside the scope could not be looked at (not a NotFound). */
export class ScopeError extends Error {}

const MAX_LINKS = 255;

/**
 * The host path of `path` (a host path under `root`) with every symlink
 * followed inside `root`. Missing components are accepted as they are.
 */
export function followSymlinkInScope(path: string, root: string): string {
  root = clean(root);
  path = clean(path);
  if (path === root) return path;
  if (!path.startsWith(root + "/") && root !== "/") {
    throw new ScopeError(`evalSymlinksInScope: ${path} is not in ${root}`);
  }
  const original = path;
  let rest = clean(root === "/" ? path : path.slice(root.length));
  let b = "";
  for (let n = 0; rest !== ""; n++) {
    if (n > MAX_LINKS) throw new ScopeError(`evalSymlinksInScope: too many links in ${original}`);
    const i = rest.indexOf("/");
    let p: string;
    if (i === -1) [p, rest] = [rest, ""];
    else [p, rest] = [rest.slice(0, i), rest.slice(i + 1)];
    if (p === "") continue;
    const cleanP = clean("/" + b + p);
    if (cleanP === "/") {
      // Never look at "/" itself: ".." at the top stays at the top.
      b = "";
      continue;
    }
    const fullP = clean(root + cleanP);
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(fullP);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        b += p + "/";
        continue;
      }
      throw new ScopeError(`lstat ${cleanP}: ${describe(e)}`);
    }
    if (!st.isSymlink) {
      b += p + "/";
      continue;
    }
    const dest = Deno.readLinkSync(fullP);
    if (dest.startsWith("/")) b = "";
    rest = dest + "/" + rest;
  }
  return clean(root + clean("/" + b));
}

/** The error text Go's os package would give for `e`. */
export function describe(e: unknown): string {
  if (e instanceof Deno.errors.NotADirectory) return "not a directory";
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.FilesystemLoop) return "too many levels of symbolic links";
  const msg = (e as Error).message ?? String(e);
  // Deno's texts end with ": <call> '<path>'", which would show host paths.
  return msg.replace(/(\s*\(os error \d+\))?(:\s*\w+ '.*')?$/, "").toLowerCase();
}

/** The container path of a host path under `root`. */
export function inContainer(hostPath: string, root: string): string {
  const rel = hostPath === root ? "" : hostPath.slice(root.length);
  return rel === "" ? "/" : rel;
}

/**
 * Docker's container.ResolvePath: the directory part of `path` resolved in
 * scope, its last element kept as is (so a symlink itself can be looked at).
 * `abs` is the path made absolute in the container, trailing "/" or "/."
 * kept.
 */
export function resolvePath(root: string, path: string): { resolved: string; abs: string } {
  const abs = preserveTrailingDotOrSeparator(join("/", path), path);
  const [d, b] = split(abs);
  const resolvedDir = followSymlinkInScope(join(root, d), root);
  return { resolved: `${resolvedDir}/${b}`, abs };
}

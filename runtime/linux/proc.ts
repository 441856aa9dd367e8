/** Small facts about processes and paths, read from /proc and the file system. */

/** True when `pid` is a live process (a zombie counts as gone). */
export function pidAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) S ...": comm may hold spaces and parentheses.
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return false;
  }
}

/** True when something exists at `path` (a dangling symlink counts). */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

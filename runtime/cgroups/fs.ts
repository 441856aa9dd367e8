/**
 * File helpers for cgroupfs. Control files take one value per write(2), never
 * need O_CREAT (cgroupfs refuses to create files), and their errors must say
 * which file and which value, so every write goes through {@link writeFile}.
 */

const encoder = new TextEncoder();

/** The errno name of a Deno error ("EBUSY"), if it has one. */
export function errCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/** Writes `value` to `dir/file` in a single write. */
export function writeFile(dir: string, file: string, value: string | number): void {
  const path = `${dir}/${file}`;
  try {
    // No create, no truncate: the file must already exist in the cgroup.
    const f = Deno.openSync(path, { write: true });
    try {
      f.writeSync(encoder.encode(String(value)));
    } finally {
      f.close();
    }
  } catch (e) {
    throw new Error(`cgroup: writing ${value} to ${path}: ${(e as Error).message}`);
  }
}

/** `dir/file`'s content without the trailing newline; throws if unreadable. */
export function readFile(dir: string, file: string): string {
  const path = `${dir}/${file}`;
  try {
    return Deno.readTextFileSync(path).trimEnd();
  } catch (e) {
    throw new Error(`cgroup: reading ${path}: ${(e as Error).message}`);
  }
}

/** Like {@link readFile}, but undefined when the file cannot be read. */
export function tryRead(dir: string, file: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${dir}/${file}`).trimEnd();
  } catch {
    return undefined;
  }
}

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A number from a control file; "max" (no limit) and a missing file give `fallback`. */
export function readNumber(dir: string, file: string, max = 0, fallback = 0): number {
  const s = tryRead(dir, file);
  if (s === undefined || s === "") return fallback;
  if (s === "max") return max;
  const n = Number(s);
  return Number.isFinite(n) ? n : fallback;
}

/** "key value" lines (memory.stat, cpu.stat, cgroup.events) as a map. */
export function readKeyValues(dir: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  const s = tryRead(dir, file);
  if (!s) return out;
  for (const line of s.split("\n")) {
    const [k, v] = line.split(" ");
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** Thrown by the fix-up helpers when a control file is absent. */
export function requireFile(dir: string, file: string, field: string, hint: string): void {
  if (!exists(`${dir}/${file}`)) {
    throw new Error(`cgroup: ${field}: ${dir}/${file} does not exist (${hint})`);
  }
}

/** The pids in `dir` and every cgroup below it (cgroup.procs of each). */
export function pidsRecursive(dir: string): number[] {
  const out = new Set<number>();
  const walk = (d: string) => {
    let procs: string;
    try {
      procs = Deno.readTextFileSync(`${d}/cgroup.procs`);
    } catch (e) {
      if (errCode(e) === "ENOENT") return; // removed meanwhile
      throw new Error(`cgroup: reading ${d}/cgroup.procs: ${(e as Error).message}`);
    }
    for (const line of procs.split("\n")) if (line) out.add(Number(line));
    for (const sub of subdirs(d)) walk(`${d}/${sub}`);
  };
  walk(dir);
  return [...out];
}

function subdirs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Removes the cgroup `dir` and every cgroup below it, deepest first. rmdir(2)
 * is the only way to remove a cgroup (its control files cannot be unlinked).
 * EBUSY means processes are still exiting: retry with a growing delay
 * (≈ 1.3 s in all). A missing directory is not an error.
 */
export async function removeTree(dir: string): Promise<void> {
  for (const sub of subdirs(dir)) await removeTree(`${dir}/${sub}`);
  let delay = 5;
  for (let attempt = 0;; attempt++) {
    try {
      Deno.removeSync(dir);
      return;
    } catch (e) {
      const code = errCode(e);
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || attempt >= 8) {
        throw new Error(`cgroup: removing ${dir}: ${(e as Error).message}`);
      }
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 320);
  }
}

/** Polls `done` until it is true, up to `timeoutMs`; true if it became true. */
export async function pollUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return true;
}

/**
 * Durable file operations: a write is a temp file in the same directory,
 * fsync'd, renamed over the target, then the directory fsync'd. A SIGKILL
 * (or a power loss) at any point leaves either the old or the new file,
 * never a torn one; leftover temp files are removed at start.
 */

/** Prefix of temp files (ids never start with a dot). */
export const TEMP_PREFIX = ".tmp-";

export function fsyncDir(path: string): void {
  const dir = Deno.openSync(path, { read: true });
  try {
    dir.syncSync();
  } finally {
    dir.close();
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = parentOf(path);
  const tmp = `${dir}/${TEMP_PREFIX}${crypto.randomUUID()}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const f = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    f.syncSync();
  } catch (e) {
    f.close();
    Deno.removeSync(tmp);
    throw e;
  }
  f.close();
  Deno.renameSync(tmp, path);
  fsyncDir(dir);
}

/** Removes a file (or an empty directory) and makes the removal durable. */
export function removeDurable(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  fsyncDir(parentOf(path));
}

/** Makes a directory (and its parents) durable; existing ones are fine. */
export function mkdirDurable(path: string, mode = 0o711): void {
  try {
    Deno.statSync(path);
    return;
  } catch { /* make it */ }
  const parent = parentOf(path);
  if (parent !== path) mkdirDurable(parent, mode);
  try {
    Deno.mkdirSync(path, { mode });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  fsyncDir(parent);
}

/** Removes temp files a crash left in `dir`. */
export function removeTemps(dir: string): void {
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile && e.name.startsWith(TEMP_PREFIX)) Deno.removeSync(`${dir}/${e.name}`);
  }
}

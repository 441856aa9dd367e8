/**
 * Task records: what containerd must remember about each task to find it
 * again after a restart (its shim, bundle, stdio, rootfs mounts) and which
 * exits it has already published.
 *
 * One JSON file per task, `<state>/tasks/<ns>/<id>/task.json`, next to the
 * bundle's config.json. Every write goes to a temporary file renamed over
 * the record, so a SIGKILL at any moment leaves either the old or the new
 * record, never a torn one. No fsync: the state directory does not outlive a
 * reboot (it is a tmpfs in production), and neither do tasks.
 */
import type { ExitRecord, RootfsMount } from "../../../shim/api.ts";

export const RECORD_FILE = "task.json";

export interface TaskIO {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface TaskRecord {
  version: 1;
  namespace: string;
  id: string;
  /**
   * creating: the shim may or may not have the container (a crash then
   * means tear it down); created: the shim has it; deleting: Delete began
   * (a crash then means finish the delete).
   */
  phase: "creating" | "created" | "deleting";
  bundle: string;
  /** The directory of the shim supervising this task. */
  shimDir: string;
  /** The runtime's --root. */
  runtimeRoot: string;
  /** The init's pid (0 until created). */
  pid: number;
  io: TaskIO;
  /** Mounted (by the shim) at `<bundle>/rootfs`. */
  rootfs: RootfsMount[];
  createdAt: string;
  /** The init's exit when berth had to establish it itself (the shim died). */
  exit?: ExitRecord;
  /** Exec'd processes added and not yet deleted, with their stdio. */
  execs: Record<string, TaskIO>;
  /** Processes whose TaskExit was published: "" (init) and exec ids. */
  published: string[];
}

/** `<state>/tasks/<ns>/<id>`: the bundle directory, which also holds the record. */
export function bundleDir(state: string, namespace: string, id: string): string {
  return `${state}/tasks/${namespace}/${id}`;
}

/** Replaces the task's record atomically (temp file + rename). */
export function saveRecord(rec: TaskRecord): void {
  const path = `${rec.bundle}/${RECORD_FILE}`;
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(rec));
  Deno.renameSync(tmp, path);
}

export function removeRecord(rec: TaskRecord): void {
  try {
    Deno.removeSync(`${rec.bundle}/${RECORD_FILE}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function dirs(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Every task record under `<state>/tasks`. Bundle directories without a
 * record (a crash before the first write) are returned as orphans.
 */
export function loadRecords(state: string): { records: TaskRecord[]; orphans: string[] } {
  const records: TaskRecord[] = [];
  const orphans: string[] = [];
  for (const ns of dirs(`${state}/tasks`)) {
    for (const id of dirs(`${state}/tasks/${ns}`)) {
      const dir = bundleDir(state, ns, id);
      let text: string;
      try {
        text = Deno.readTextFileSync(`${dir}/${RECORD_FILE}`);
      } catch {
        orphans.push(dir);
        continue;
      }
      try {
        const rec = JSON.parse(text) as TaskRecord;
        if (rec.version !== 1 || rec.namespace !== ns || rec.id !== id) throw new Error("mismatch");
        rec.bundle = dir;
        records.push(rec);
      } catch {
        // Written only through rename, so this is not a torn write but a
        // foreign file; keep it out of the way rather than guess.
        orphans.push(dir);
      }
    }
  }
  return { records, orphans };
}

/**
 * A container's record in the runtime's root directory (<root>/<id>/):
 * state.json (written atomically), the init's start socket (exec.sock,
 * present while the container waits for `start`), and the init's config.
 * Status is derived from the live system, never trusted from the file.
 */
import type { Spec, State } from "../spec/types.ts";

export const DEFAULT_ROOT = "/run/berth/runc";
export const OCI_VERSION = "1.2.0";

/** What the runtime keeps about a container between its commands. */
export interface ContainerRecord {
  id: string;
  bundle: string;
  /** Host pid of the container's init. */
  pid: number;
  /** Start time of that pid (field 22 of /proc/PID/stat): tells a reused pid apart. */
  pidStartTime: string;
  /** RFC 3339 creation time. */
  created: string;
  owner: string;
  config: Spec;
  /** Absolute rootfs path on the host. */
  rootfs: string;
  /** cgroup directories by controller ("" for cgroup v2). */
  cgroupPaths: Record<string, string>;
  /** Set until `create` has finished: the container is "creating". */
  creating?: boolean;
}

/** Container ids: like runc, letters, digits and `_+-.`, not `.` or `..`. */
const ID_RE = /^[A-Za-z0-9_+\-.]+$/;

export function validateId(id: string | undefined): string {
  if (id === undefined || id === "") throw new Error("container id cannot be empty");
  if (!ID_RE.test(id) || id === "." || id === ".." || id.length > 1024) {
    throw new Error(`invalid container id "${id}": use letters, digits and "_+-." only`);
  }
  return id;
}

export function containerDir(root: string, id: string): string {
  return `${root}/${validateId(id)}`;
}

/**
 * Writes a file so that readers see the old or the new content, never half,
 * whenever the writer dies. `durable` also survives a power loss (fsync),
 * which state under /run (gone at boot anyway) does not need.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600, durable = false): void {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode });
  try {
    const bytes = new TextEncoder().encode(data);
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    if (durable) f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, path);
}

export function saveRecord(root: string, rec: ContainerRecord): void {
  writeFileAtomic(`${containerDir(root, rec.id)}/state.json`, JSON.stringify(rec));
}

export class NotFound extends Error {
  constructor(id: string) {
    super(`container "${id}" does not exist`);
  }
}

export function loadRecord(root: string, id: string): ContainerRecord {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/state.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NotFound(id);
    throw e;
  }
  return JSON.parse(text) as ContainerRecord;
}

/** Ids of every container with a record under root. */
export function listIds(root: string): string[] {
  const ids: string[] = [];
  try {
    for (const e of Deno.readDirSync(root)) {
      if (e.isDirectory && ID_RE.test(e.name)) {
        try {
          Deno.statSync(`${root}/${e.name}/state.json`);
          ids.push(e.name);
        } catch { /* being created or deleted */ }
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return ids.sort();
}

/** Start time of a process, or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may contain spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined; // zombie: already exited
    return fields[19];
  } catch {
    return undefined;
  }
}

/** True while the recorded init is alive (the same process, not a reused pid). */
export function initAlive(rec: ContainerRecord): boolean {
  return rec.pid > 0 && processStartTime(rec.pid) === rec.pidStartTime;
}

export function startSocketPath(root: string, id: string): string {
  return `${containerDir(root, id)}/exec.sock`;
}

export type Status = State["status"];

/** The status as the system shows it now. */
export function currentStatus(root: string, rec: ContainerRecord, frozen: () => boolean): Status {
  if (!initAlive(rec)) return "stopped";
  if (rec.creating) return "creating";
  try {
    Deno.statSync(startSocketPath(root, rec.id));
    return "created";
  } catch { /* started */ }
  try {
    if (frozen()) return "paused";
  } catch { /* cgroup gone */ }
  return "running";
}

export function ociState(rec: ContainerRecord, status: Status): State {
  const state: State = {
    ociVersion: OCI_VERSION,
    id: rec.id,
    status,
    pid: status === "stopped" ? 0 : rec.pid,
    bundle: rec.bundle,
  };
  if (rec.config.annotations) state.annotations = rec.config.annotations;
  return state;
}

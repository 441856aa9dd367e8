/**
 * dockerd's container records: one directory per container under
 * `<data-root>/containers/<id>/` with `config.v2.json`, written atomically
 * (temp file, fsync, rename, fsync of the directory) so that a kill -9 at any
 * moment leaves either the old or the new record, never a torn one.
 *
 * Lookups follow Docker: full id, then name, then a unique id prefix.
 */
import type {
  ContainerConfig,
  ContainerState,
  EndpointSettings,
  HostConfig,
} from "../api/types.ts";
import { ApiError, badRequest, conflict, noSuchContainer } from "../api/errors.ts";
import { randomName } from "./names.ts";

export interface ContainerRecord {
  Id: string;
  /** With the leading slash, as Docker keeps it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** The image id (sha256:...). */
  Image: string;
  State: ContainerState;
  RestartCount: number;
  /** Set by `docker stop`/`kill` so that restart policies do not bring it back. */
  HasBeenManuallyStopped: boolean;
  LogPath: string;
  Networks: Record<string, EndpointSettings>;
  ExecIDs: string[];
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw badRequest(
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  return name.startsWith("/") ? name : `/${name}`;
}

export function newContainerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fsyncDir(path: string): void {
  const dir = Deno.openSync(path, { read: true });
  try {
    dir.syncSync();
  } finally {
    dir.close();
  }
}

/** Writes `data` to `path` so that readers see the old or the new content, even after a crash. */
export function writeJsonAtomic(path: string, data: unknown): void {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    file.writeSync(new TextEncoder().encode(JSON.stringify(data)));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
  fsyncDir(path.slice(0, path.lastIndexOf("/")));
}

export class ContainerStore {
  readonly #byId = new Map<string, ContainerRecord>();
  readonly #byName = new Map<string, string>();

  constructor(readonly root: string) {
    Deno.mkdirSync(root, { recursive: true, mode: 0o710 });
  }

  /** Reads every record; a directory without a readable record is skipped and reported. */
  load(warn: (msg: string) => void): void {
    for (const entry of Deno.readDirSync(this.root)) {
      if (entry.name.startsWith(".removing-")) {
        Deno.removeSync(`${this.root}/${entry.name}`, { recursive: true });
        continue;
      }
      if (!entry.isDirectory || !/^[0-9a-f]{64}$/.test(entry.name)) continue;
      const path = `${this.root}/${entry.name}/config.v2.json`;
      try {
        const rec = JSON.parse(Deno.readTextFileSync(path)) as ContainerRecord;
        this.#byId.set(rec.Id, rec);
        this.#byName.set(rec.Name, rec.Id);
      } catch (e) {
        warn(`skipping container ${entry.name}: ${(e as Error).message}`);
      }
    }
  }

  dir(id: string): string {
    return `${this.root}/${id}`;
  }

  all(): ContainerRecord[] {
    return [...this.#byId.values()];
  }

  /** Docker's lookup order: full id, exact name, unique id prefix. */
  find(ref: string): ContainerRecord | undefined {
    const byId = this.#byId.get(ref);
    if (byId) return byId;
    const name = ref.startsWith("/") ? ref : `/${ref}`;
    const named = this.#byName.get(name);
    if (named) return this.#byId.get(named);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.#byId.keys()].filter((id) => id.startsWith(ref));
    if (matches.length > 1) {
      throw new ApiError(400, `multiple IDs found with provided prefix: ${ref}`);
    }
    return matches.length ? this.#byId.get(matches[0]) : undefined;
  }

  get(ref: string): ContainerRecord {
    const rec = this.find(ref);
    if (!rec) throw noSuchContainer(ref);
    return rec;
  }

  /** A free name: the requested one (checked), or a random one. */
  reserveName(requested: string | undefined, id: string): string {
    if (requested) {
      const name = validateName(requested);
      const owner = this.#byName.get(name);
      if (owner && owner !== id) {
        throw conflict(
          `Conflict. The container name "${name}" is already in use by container "${owner}". ` +
            `You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      return name;
    }
    for (;;) {
      const name = `/${randomName()}`;
      if (!this.#byName.has(name)) return name;
    }
  }

  /** Adds or updates a record, on disk first. */
  save(rec: ContainerRecord): void {
    const dir = this.dir(rec.Id);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o710 });
    writeJsonAtomic(`${dir}/config.v2.json`, rec);
    const previous = this.#byId.get(rec.Id);
    if (previous && previous.Name !== rec.Name) this.#byName.delete(previous.Name);
    this.#byId.set(rec.Id, rec);
    this.#byName.set(rec.Name, rec.Id);
  }

  remove(id: string): void {
    const rec = this.#byId.get(id);
    if (!rec) return;
    // Renamed first: a crash during the recursive removal leaves no half record behind.
    const doomed = `${this.root}/.removing-${id}`;
    Deno.renameSync(this.dir(id), doomed);
    Deno.removeSync(doomed, { recursive: true });
    this.#byId.delete(id);
    this.#byName.delete(rec.Name);
  }
}

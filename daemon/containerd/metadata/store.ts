/**
 * containerd's metadata (namespaces and container records), persistent
 * under `<root>/metadata/v1`:
 *
 *   <ns>/namespace.json          {name, labels, created_at}
 *   <ns>/containers/<id>.json    a ContainerMeta (Any values in base64)
 *
 * Every change is written to disk durably (atomic.ts) before the in-memory
 * view changes and before the call answers: what a client was told exists
 * survives a SIGKILL. Ids and names are containerd identifiers, so they are
 * safe file names. All operations are synchronous: no two can interleave.
 */
import {
  alreadyExists,
  type ContainerMeta,
  failedPrecondition,
  type MetadataStore,
  notFound,
} from "../context.ts";
import type { Logger } from "../log.ts";
import { nowRfc3339 } from "../timestamp.ts";
import { fsyncDir, mkdirDurable, removeDurable, removeTemps, writeFileAtomic } from "./atomic.ts";

export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
  created_at: string;
}

interface NsEntry {
  rec: NamespaceRecord;
  containers: Map<string, ContainerMeta>;
}

const NS_FILE = "namespace.json";

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

type StoredAny = { type_url: string; value: string };
const anyOut = (a: { type_url: string; value: Uint8Array }): StoredAny => ({
  type_url: a.type_url,
  value: b64(a.value ?? new Uint8Array()),
});
const anyIn = (a: StoredAny) => ({ type_url: a.type_url, value: unb64(a.value) });

function encodeContainer(c: ContainerMeta): string {
  return JSON.stringify({
    ...c,
    runtime: c.runtime && {
      name: c.runtime.name,
      ...(c.runtime.options ? { options: anyOut(c.runtime.options) } : {}),
    },
    spec: c.spec && anyOut(c.spec),
    extensions: Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, anyOut(v)])),
  });
}

function decodeContainer(text: string): ContainerMeta {
  const j = JSON.parse(text);
  if (typeof j?.id !== "string") throw new Error("not a container record");
  return {
    id: j.id,
    labels: j.labels ?? {},
    image: j.image ?? "",
    runtime: j.runtime && {
      name: j.runtime.name ?? "",
      ...(j.runtime.options ? { options: anyIn(j.runtime.options) } : {}),
    },
    spec: j.spec && anyIn(j.spec),
    snapshotter: j.snapshotter ?? "",
    snapshot_key: j.snapshot_key ?? "",
    created_at: j.created_at ?? "",
    updated_at: j.updated_at ?? "",
    extensions: Object.fromEntries(
      Object.entries(j.extensions ?? {}).map(([k, v]) => [k, anyIn(v as StoredAny)]),
    ),
  };
}

export class Metadata implements MetadataStore {
  readonly dir: string;
  private readonly namespaces = new Map<string, NsEntry>();

  constructor(root: string, private readonly log: Logger) {
    this.dir = `${root}/metadata/v1`;
  }

  /** Reads everything from disk, finishing or undoing what a crash interrupted. */
  load(): void {
    mkdirDurable(this.dir);
    removeTemps(this.dir);
    for (const e of Deno.readDirSync(this.dir)) {
      if (!e.isDirectory) continue;
      const nsDir = `${this.dir}/${e.name}`;
      const cdir = `${nsDir}/containers`;
      try {
        removeTemps(nsDir);
      } catch { /* unreadable: reported below */ }
      let rec: NamespaceRecord | undefined;
      try {
        rec = JSON.parse(Deno.readTextFileSync(`${nsDir}/${NS_FILE}`));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          this.log.error(`metadata: namespace ${e.name}: ${(err as Error).message}; skipped`);
          continue;
        }
      }
      const containers = new Map<string, ContainerMeta>();
      try {
        removeTemps(cdir);
        for (const f of Deno.readDirSync(cdir)) {
          if (!f.isFile || !f.name.endsWith(".json")) continue;
          try {
            const c = decodeContainer(Deno.readTextFileSync(`${cdir}/${f.name}`));
            containers.set(c.id, c);
          } catch (err) {
            this.log.error(`metadata: ${cdir}/${f.name}: ${(err as Error).message}; skipped`);
          }
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      if (!rec) {
        // A create or a delete that stopped half-way. With containers, it
        // was in use: keep it (as an implicit namespace); without, finish the delete.
        if (containers.size === 0) {
          this.removeNsDir(nsDir);
          continue;
        }
        rec = { name: e.name, labels: {}, created_at: nowRfc3339() };
        writeFileAtomic(`${nsDir}/${NS_FILE}`, JSON.stringify(rec));
      }
      this.namespaces.set(rec.name, { rec, containers });
    }
  }

  private removeNsDir(nsDir: string): void {
    Deno.removeSync(nsDir, { recursive: true });
    fsyncDir(this.dir);
  }

  // ------------------------------------------------------------ namespaces

  listNamespaces(): NamespaceRecord[] {
    return [...this.namespaces.values()].map((n) => n.rec).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
  }

  getNamespace(name: string): NamespaceRecord | undefined {
    return this.namespaces.get(name)?.rec;
  }

  /** Writes a namespace record (creating its directories first). */
  private writeNamespace(rec: NamespaceRecord): NsEntry {
    const nsDir = `${this.dir}/${rec.name}`;
    mkdirDurable(`${nsDir}/containers`);
    writeFileAtomic(`${nsDir}/${NS_FILE}`, JSON.stringify(rec));
    const entry = this.namespaces.get(rec.name) ?? { rec, containers: new Map() };
    entry.rec = rec;
    this.namespaces.set(rec.name, entry);
    return entry;
  }

  createNamespace(name: string, labels: Record<string, string>): NamespaceRecord {
    if (this.namespaces.has(name)) throw alreadyExists(`namespace ${JSON.stringify(name)}`);
    return this.writeNamespace({ name, labels, created_at: nowRfc3339() }).rec;
  }

  /** The namespace, made on first use as containerd does for any object put in one. */
  private ensureNamespace(name: string): NsEntry {
    return this.namespaces.get(name) ??
      this.writeNamespace({ name, labels: {}, created_at: nowRfc3339() });
  }

  setNamespaceLabels(name: string, labels: Record<string, string>): NamespaceRecord {
    const cur = this.namespaces.get(name);
    if (!cur) throw notFound(`namespace ${JSON.stringify(name)}`);
    return this.writeNamespace({ ...cur.rec, labels }).rec;
  }

  deleteNamespace(name: string): void {
    const cur = this.namespaces.get(name);
    if (!cur) throw notFound(`namespace ${JSON.stringify(name)}`);
    if (cur.containers.size > 0) {
      throw failedPrecondition(
        `namespace ${JSON.stringify(name)} must be empty, but it still has containers: ` +
          "failed precondition",
      );
    }
    // The record goes first: a crash after it leaves an empty directory that load() removes.
    const nsDir = `${this.dir}/${name}`;
    removeDurable(`${nsDir}/${NS_FILE}`);
    this.namespaces.delete(name);
    this.removeNsDir(nsDir);
  }

  // ------------------------------------------------------------ containers

  getContainer(ns: string, id: string): ContainerMeta | undefined {
    return this.namespaces.get(ns)?.containers.get(id);
  }

  listContainers(ns: string): ContainerMeta[] {
    return [...(this.namespaces.get(ns)?.containers.values() ?? [])];
  }

  private writeContainer(ns: string, c: ContainerMeta): void {
    const entry = this.ensureNamespace(ns);
    writeFileAtomic(`${this.dir}/${ns}/containers/${c.id}.json`, encodeContainer(c));
    entry.containers.set(c.id, c);
  }

  createContainer(ns: string, c: ContainerMeta): ContainerMeta {
    if (this.getContainer(ns, c.id)) throw alreadyExists(`container ${JSON.stringify(c.id)}`);
    this.writeContainer(ns, c);
    return c;
  }

  /** Replaces an existing record (the service has merged the update). */
  replaceContainer(ns: string, c: ContainerMeta): ContainerMeta {
    if (!this.getContainer(ns, c.id)) throw notFound(`container ${JSON.stringify(c.id)}`);
    this.writeContainer(ns, c);
    return c;
  }

  deleteContainer(ns: string, id: string): void {
    const entry = this.namespaces.get(ns);
    if (!entry) {
      throw notFound(
        `cannot delete container ${JSON.stringify(id)} in namespace ${JSON.stringify(ns)}`,
      );
    }
    if (!entry.containers.has(id)) throw notFound(`container ${id}`);
    removeDurable(`${this.dir}/${ns}/containers/${id}.json`);
    entry.containers.delete(id);
  }
}

/**
 * containerd.services.containers.v1.Containers: container records with
 * containerd's validation, field-mask updates, filters and error wording
 * (metadata/containers.go). Every call works in the caller's namespace; a
 * namespace is made on first use.
 */
import {
  type Any,
  type ContainerMeta,
  type DaemonContext,
  invalidArgument,
  notFound,
} from "../context.ts";
import { type Adaptor, parseFilters } from "../filters.ts";
import { cleanLabels, validateIdentifier, validateLabels } from "../identifiers.ts";
import type { Metadata } from "../metadata/store.ts";
import type { Handlers } from "../server.ts";
import { fromRfc3339, nowRfc3339, type Timestamp, toRfc3339 } from "../timestamp.ts";

/** containerd.services.containers.v1.Container as proto-loader gives and takes it. */
export interface Container {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options: Any | null } | null;
  spec: Any | null;
  snapshotter: string;
  snapshot_key: string;
  created_at: Timestamp | null;
  updated_at: Timestamp | null;
  extensions: Record<string, Any>;
}

interface FieldMask {
  paths: string[];
}

export function toProto(c: ContainerMeta): Container {
  return {
    id: c.id,
    labels: { ...c.labels },
    image: c.image,
    runtime: c.runtime ? { name: c.runtime.name, options: c.runtime.options ?? null } : null,
    spec: c.spec ?? null,
    snapshotter: c.snapshotter,
    snapshot_key: c.snapshot_key,
    created_at: fromRfc3339(c.created_at) ?? null,
    updated_at: fromRfc3339(c.updated_at) ?? null,
    extensions: { ...c.extensions },
  };
}

function fromProto(c: Partial<Container>): ContainerMeta {
  return {
    id: c.id ?? "",
    labels: cleanLabels(c.labels),
    image: c.image ?? "",
    runtime: c.runtime
      ? { name: c.runtime.name ?? "", ...(c.runtime.options ? { options: c.runtime.options } : {}) }
      : undefined,
    spec: c.spec ?? undefined,
    snapshotter: c.snapshotter ?? "",
    snapshot_key: c.snapshot_key ?? "",
    created_at: c.created_at ? toRfc3339(c.created_at) : "",
    updated_at: c.updated_at ? toRfc3339(c.updated_at) : "",
    extensions: { ...c.extensions },
  };
}

/** containerd's validateContainer; `prefix` wraps the message as the caller does. */
function validate(c: ContainerMeta, prefix = ""): void {
  const wrap = (msg: string) => invalidArgument(prefix ? `${prefix}: ${msg}` : msg);
  try {
    validateIdentifier(c.id);
  } catch (e) {
    throw wrap(`container.ID: ${(e as Error).message}`);
  }
  if (Object.keys(c.extensions).some((k) => k === "")) {
    throw wrap("container.Extension keys must not be zero-length: invalid argument");
  }
  try {
    validateLabels(c.labels, "containers.Labels");
  } catch (e) {
    throw wrap((e as Error).message);
  }
  if (!c.runtime?.name) throw wrap("container.Runtime.Name must be set: invalid argument");
  if (!c.spec) throw wrap("container.Spec must be set: invalid argument");
  if (c.snapshot_key && !c.snapshotter) {
    throw wrap(
      "container.Snapshotter must be set if container.SnapshotKey is set: invalid argument",
    );
  }
}

/** containerd's container filter fields: id, image, runtime.name, labels.<key>. */
function adaptor(c: ContainerMeta): Adaptor {
  return (path) => {
    switch (path[0]) {
      case "id":
        return [c.id, c.id.length > 0];
      case "image":
        return [c.image, c.image.length > 0];
      case "runtime":
        return path.length === 2 && path[1] === "name"
          ? [c.runtime?.name ?? "", !!c.runtime?.name]
          : ["", false];
      case "labels": {
        const key = path.slice(1).join(".");
        return key in c.labels ? [c.labels[key], true] : ["", false];
      }
    }
    return ["", false];
  };
}

/**
 * The update of `cur` by `req` under containerd's rules: with no paths, a
 * full replace of the mutable fields (snapshotter and runtime must not
 * change); otherwise only the named fields.
 */
function applyUpdate(cur: ContainerMeta, req: ContainerMeta, paths: string[]): ContainerMeta {
  const out: ContainerMeta = {
    ...cur,
    labels: { ...cur.labels },
    extensions: { ...cur.extensions },
  };
  if (paths.length === 0) {
    if (req.snapshotter !== cur.snapshotter) {
      throw invalidArgument("container.Snapshotter field is immutable: invalid argument");
    }
    if ((req.runtime?.name ?? "") !== (cur.runtime?.name ?? "")) {
      throw invalidArgument("container.Runtime.Name field is immutable: invalid argument");
    }
    paths = ["labels", "spec", "extensions", "image", "snapshotkey"];
  }
  for (const path of paths) {
    if (path.startsWith("labels.")) {
      const key = path.slice("labels.".length);
      out.labels[key] = req.labels[key] ?? "";
      continue;
    }
    if (path.startsWith("extensions.")) {
      const key = path.slice("extensions.".length);
      if (req.extensions[key]) out.extensions[key] = req.extensions[key];
      else delete out.extensions[key];
      continue;
    }
    switch (path) {
      case "labels":
        out.labels = { ...req.labels };
        break;
      case "spec":
        out.spec = req.spec;
        break;
      case "extensions":
        out.extensions = { ...req.extensions };
        break;
      case "image":
        out.image = req.image;
        break;
      case "snapshotkey":
      case "snapshot_key":
        out.snapshot_key = req.snapshot_key;
        break;
      default:
        throw invalidArgument(
          `cannot update ${JSON.stringify(path)} field on ${
            JSON.stringify(cur.id)
          }: invalid argument`,
        );
    }
  }
  out.labels = cleanLabels(out.labels);
  return out;
}

function filtered(md: Metadata, ns: string, filters: string[] | undefined): ContainerMeta[] {
  const f = parseFilters(filters);
  return md.listContainers(ns).filter((c) => f(adaptor(c))).sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0
  );
}

export function containersService(ctx: DaemonContext & { metadata: Metadata }): Handlers {
  const md = ctx.metadata;
  const get = (ns: string, id: string) => {
    const c = md.getContainer(ns, id);
    if (!c) throw notFound(`container ${JSON.stringify(id)} in namespace ${JSON.stringify(ns)}`);
    return c;
  };

  return {
    Get: (ns: string, req: { id: string }) =>
      Promise.resolve({ container: toProto(get(ns, req.id)) }),

    List: (ns: string, req: { filters: string[] }) =>
      Promise.resolve({ containers: filtered(md, ns, req.filters).map(toProto) }),

    ListStream: async (
      ns: string,
      req: { filters: string[] },
      call: { write(m: unknown): boolean; cancelled: boolean },
    ) => {
      for (const c of filtered(md, ns, req.filters)) {
        if (call.cancelled) return;
        call.write({ container: toProto(c) });
      }
      await Promise.resolve();
    },

    Create: (ns: string, req: { container: Partial<Container> | null }) => {
      const c = fromProto(req.container ?? {});
      validate(c);
      const t = nowRfc3339();
      c.created_at = c.updated_at = t;
      md.createContainer(ns, c);
      ctx.events.publish(ns, "/containers/create", "containerd.events.ContainerCreate", {
        id: c.id,
        image: c.image,
        runtime: { name: c.runtime!.name, options: c.runtime!.options ?? null },
      });
      return Promise.resolve({ container: toProto(c) });
    },

    Update: (
      ns: string,
      req: { container: Partial<Container> | null; update_mask: FieldMask | null },
    ) => {
      const incoming = fromProto(req.container ?? {});
      if (!incoming.id) throw invalidArgument("must specify a container id: invalid argument");
      const cur = md.getContainer(ns, incoming.id);
      if (!cur) throw notFound(`container ${JSON.stringify(incoming.id)}`);
      const next = applyUpdate(cur, incoming, req.update_mask?.paths ?? []);
      validate(next, "update validation error");
      next.updated_at = nowRfc3339();
      md.replaceContainer(ns, next);
      ctx.events.publish(ns, "/containers/update", "containerd.events.ContainerUpdate", {
        id: next.id,
        image: next.image,
        labels: next.labels,
        snapshot_key: next.snapshot_key,
      });
      return Promise.resolve({ container: toProto(next) });
    },

    Delete: (ns: string, req: { id: string }) => {
      md.deleteContainer(ns, req.id);
      ctx.events.publish(ns, "/containers/delete", "containerd.events.ContainerDelete", {
        id: req.id,
      });
      return Promise.resolve({});
    },
  };
}

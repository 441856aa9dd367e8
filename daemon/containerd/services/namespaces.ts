/**
 * containerd.services.namespaces.v1.Namespaces. Namespaces are not
 * themselves namespaced: no call needs the namespace header. Their events
 * go out in the caller's namespace (as containerd publishes them), or in the
 * namespace itself when the caller sent none.
 */
import { type DaemonContext, invalidArgument, notFound } from "../context.ts";
import { cleanLabels, validateIdentifier, validateLabels } from "../identifiers.ts";
import type { Metadata, NamespaceRecord } from "../metadata/store.ts";
import type { Handlers } from "../server.ts";

export interface Namespace {
  name: string;
  labels: Record<string, string>;
}

interface FieldMask {
  paths: string[];
}

const toProto = (r: NamespaceRecord): Namespace => ({ name: r.name, labels: { ...r.labels } });

export function namespacesService(ctx: DaemonContext & { metadata: Metadata }): Handlers {
  const md = ctx.metadata;
  const publish = (caller: string, topic: string, type: string, ns: Partial<Namespace>) =>
    ctx.events.publish(caller || ns.name!, topic, `containerd.events.${type}`, { ...ns });
  const get = (name: string) => {
    const r = md.getNamespace(name);
    if (!r) throw notFound(`namespace ${JSON.stringify(name)}`);
    return r;
  };

  return {
    Get: (_ns: string, req: { name: string }) =>
      Promise.resolve({ namespace: toProto(get(req.name)) }),

    List: () => Promise.resolve({ namespaces: md.listNamespaces().map(toProto) }),

    Create: (caller: string, req: { namespace: Namespace | null }) => {
      const name = req.namespace?.name ?? "";
      validateIdentifier(name);
      const labels = cleanLabels(req.namespace?.labels);
      validateLabels(labels, "namespace.Labels");
      const ns = toProto(md.createNamespace(name, labels));
      publish(caller, "/namespaces/create", "NamespaceCreate", ns);
      return Promise.resolve({ namespace: ns });
    },

    Update: (
      caller: string,
      req: { namespace: Namespace | null; update_mask: FieldMask | null },
    ) => {
      const name = req.namespace?.name ?? "";
      const cur = get(name);
      const incoming = req.namespace?.labels ?? {};
      let labels: Record<string, string>;
      const paths = req.update_mask?.paths ?? [];
      if (paths.length > 0) {
        labels = { ...cur.labels };
        for (const path of paths) {
          if (!path.startsWith("labels.")) {
            throw invalidArgument(`cannot update ${JSON.stringify(path)} field`);
          }
          const key = path.slice("labels.".length);
          labels[key] = incoming[key] ?? "";
        }
      } else {
        labels = { ...incoming };
      }
      labels = cleanLabels(labels);
      validateLabels(labels, "namespace.Labels");
      const ns = toProto(md.setNamespaceLabels(name, labels));
      publish(caller, "/namespaces/update", "NamespaceUpdate", ns);
      return Promise.resolve({ namespace: ns });
    },

    Delete: (caller: string, req: { name: string }) => {
      md.deleteNamespace(req.name);
      publish(caller, "/namespaces/delete", "NamespaceDelete", { name: req.name });
      return Promise.resolve({});
    },
  };
}

export const NAMESPACES_NO_NAMESPACE = ["Get", "List", "Create", "Update", "Delete"];

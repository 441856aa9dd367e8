/**
 * Namespaces, entered by the runtime process itself just before it starts
 * the init: `unshare` makes new ones (a new PID namespace applies to the
 * children), `setns` joins the ones given by path. Deno is multi-threaded, so
 * only the calling (main) thread moves — which is the thread that spawns the
 * init. Afterwards the runtime returns to its own namespaces, so that hooks
 * and everything else it starts run in the runtime's namespaces.
 */
import type { Namespace, NamespaceType } from "../spec/types.ts";
import { CLONE, close, mount, MS, O, open, setns, unshare } from "../linux/libc.ts";

export const CLONE_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  cgroup: CLONE.NEWCGROUP,
  user: CLONE.NEWUSER,
  time: 0x80,
};

/** Names under /proc/PID/ns/. */
export const PROC_NS: Record<NamespaceType, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  cgroup: "cgroup",
  user: "user",
  time: "time",
};

/** Where the runtime was before it entered a container's namespaces. */
export class SavedNamespaces {
  #fds: [number, number][] = [];

  constructor(types: NamespaceType[]) {
    for (const t of types) {
      this.#fds.push([open(`/proc/self/ns/${PROC_NS[t]}`, O.RDONLY | O.CLOEXEC), CLONE_FLAG[t]]);
    }
  }

  /** Returns the calling thread to the saved namespaces and closes the handles. */
  restore(): void {
    for (const [fd, flag] of this.#fds) {
      setns(fd, flag, "(back to the runtime's namespace)");
      close(fd);
    }
    this.#fds = [];
  }
}

/**
 * Moves the calling thread into the namespaces the init must be born in:
 * every listed namespace except `cgroup` (which the init creates after it has
 * been placed in its cgroup) and `skip` (for exec: the mount namespace, which
 * the exec'd init joins itself). Returns a handle to go back.
 */
export function enterNamespaces(
  namespaces: Namespace[],
  opts: { skip?: NamespaceType[]; readonlyExe?: boolean; rootPropagationShared?: boolean } = {},
): SavedNamespaces {
  const relevant = namespaces.filter((n) => n.type !== "cgroup" && !opts.skip?.includes(n.type));
  const types = new Set<NamespaceType>(relevant.map((n) => n.type));
  if (opts.readonlyExe) types.add("mount");
  const saved = new SavedNamespaces([...types]);
  try {
    // A thread must own its filesystem attributes to change its mount namespace.
    unshare(CLONE.FS);
    let flags = 0;
    for (const ns of relevant) {
      if (ns.path) {
        const fd = open(ns.path, O.RDONLY | O.CLOEXEC);
        try {
          setns(fd, CLONE_FLAG[ns.type], `${ns.type} namespace ${ns.path}`);
        } finally {
          close(fd);
        }
      } else {
        flags |= CLONE_FLAG[ns.type];
      }
    }
    const joinsMount = relevant.some((n) => n.type === "mount" && n.path);
    if (opts.readonlyExe && !joinsMount) flags |= CLONE.NEWNS;
    if (flags) unshare(flags);
    if ((flags & CLONE.NEWNS) && opts.readonlyExe && !opts.rootPropagationShared) {
      // Nothing done in this namespace may reach the host.
      mount(null, "/", null, MS.REC | MS.SLAVE, null);
      protectOwnBinary();
    }
  } catch (e) {
    saved.restore();
    throw e;
  }
  return saved;
}

/**
 * The CVE-2019-5736 defence: the program the init runs is made read-only by a
 * bind mount in the init's own mount namespace, so a container process that
 * gets hold of /proc/<init>/exe can never reopen it for writing (EROFS).
 */
function protectOwnBinary(): void {
  const exe = Deno.realPathSync(Deno.execPath());
  mount(exe, exe, null, MS.BIND, null);
  mount(null, exe, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, null);
}

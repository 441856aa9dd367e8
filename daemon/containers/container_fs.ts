/**
 * A container's root filesystem on the host, for the archive routes. A
 * running container's is the task's rootfs mount; a stopped container's is
 * mounted here from its snapshot (`images.rootfsMounts`) under
 * `<exec-root>/rootfs-access/<id>` and unmounted when the last user releases
 * it. Mounts are shared between concurrent users (one overlay per upper
 * directory) and made and undone synchronously, so no two requests can
 * interleave a mount and an unmount. Leftovers of a crashed daemon are
 * detached before a mount is made again.
 */
import type { Engine } from "../engine.ts";
import type { ContainerRecord } from "./store.ts";
import { mountRootfs, unmountRootfs } from "../../shim/rootfs.ts";

export interface ContainerFs {
  /** Host path of the container's `/`. */
  root: string;
  /** Gives the root back (unmounts when this was the last user); safe to call twice. */
  release(): void;
}

interface Held {
  root: string;
  users: number;
}

const held = new Map<string, Held>();

/** Where the task's root filesystem is mounted while the container runs. */
export function taskRootfs(engine: Engine, id: string): string {
  return `${engine.config.execRoot}/containerd/tasks/moby/${id}/rootfs`;
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export function openContainerFs(engine: Engine, rec: ContainerRecord): ContainerFs {
  const running = taskRootfs(engine, rec.Id);
  if (rec.State.Running && isDir(running)) return { root: running, release: () => {} };

  let h = held.get(rec.Id);
  if (!h) {
    const mounts = engine.images.rootfsMounts(rec.Id);
    const root = `${engine.config.execRoot}/rootfs-access/${rec.Id}`;
    unmountRootfs(root); // a crashed daemon's mount, if any
    mountRootfs(mounts, root);
    h = { root, users: 0 };
    held.set(rec.Id, h);
  }
  h.users++;
  const hold = h;
  let released = false;
  return {
    root: hold.root,
    release: () => {
      if (released) return;
      released = true;
      if (--hold.users > 0) return;
      held.delete(rec.Id);
      try {
        unmountRootfs(hold.root);
        Deno.removeSync(hold.root);
      } catch (e) {
        engine.log.warn(`unmounting ${hold.root}: ${(e as Error).message}`);
      }
    },
  };
}

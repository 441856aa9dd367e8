/** containerd-style rootfs mounts at `<bundle>/rootfs`, made before create and undone at delete. */
import type { RootfsMount } from "./api.ts";
import { MNT_DETACH, mount, MS, umount2 } from "../runtime/linux/libc.ts";

const FLAGS: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
};

/** Mounts `m` at `target` (or below it); returns the mount point. */
function mountOne(m: RootfsMount, target: string): string {
  let flags = 0;
  const data: string[] = [];
  let bind = m.type === "bind";
  for (const o of m.options) {
    if (o === "bind") bind = true;
    else if (o === "rbind") {
      bind = true;
      flags |= MS.REC;
    } else if (o in FLAGS) flags |= FLAGS[o];
    else if (o !== "rw") data.push(o);
  }
  const dest = m.target ? `${target}/${m.target.replace(/^\/+/, "")}` : target;
  if (bind) {
    mount(m.source, dest, null, MS.BIND | (flags & MS.REC), null);
    // Bind mounts take their flags only on a remount.
    if (flags & ~MS.REC) mount(null, dest, null, MS.REMOUNT | MS.BIND | flags, null);
  } else {
    mount(m.source, dest, m.type, flags, data.join(","));
  }
  return dest;
}

/** Mounts `mounts` at `target` (created if missing); on a failure, undoes what it did. */
export function mountRootfs(mounts: RootfsMount[], target: string): void {
  Deno.mkdirSync(target, { recursive: true });
  const done: string[] = [];
  try {
    for (const m of mounts) done.push(mountOne(m, target));
  } catch (e) {
    for (const dest of done.reverse()) {
      try {
        umount2(dest, MNT_DETACH);
      } catch { /* went with its parent */ }
    }
    throw e;
  }
}

/**
 * Detaches everything mounted at `target` (a lazy unmount takes the mounts
 * below along; stacked mounts need one call each).
 */
export function unmountRootfs(target: string): void {
  for (let i = 0; i < 32; i++) {
    try {
      umount2(target, MNT_DETACH);
    } catch {
      return; // EINVAL: no longer a mount point
    }
  }
}

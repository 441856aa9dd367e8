/**
 * The daemon's unix socket: a stale one (its daemon died) is removed; a live
 * one (something answers) means another daemon owns it and we must not
 * start. The socket is made with a umask that leaves it root-only from the
 * first instant, then given to the configured uid/gid (mode 0660) if any.
 */

export class SocketInUse extends Error {}

/** Removes `path` if it is a socket nobody listens on; throws SocketInUse if someone does. */
export async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket) throw new SocketInUse(`${path} exists and is not a socket`);
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
      Deno.removeSync(path);
      return;
    }
    throw e;
  }
  throw new SocketInUse(`another containerd is already listening on ${path}`);
}

/** Runs `bind` with umask 0177 so the socket is born 0600. */
export async function withPrivateUmask<T>(bind: () => Promise<T>): Promise<T> {
  const old = Deno.umask(0o177);
  try {
    return await bind();
  } finally {
    Deno.umask(old);
  }
}

/** As containerd: 0660 and the configured owner when a uid or gid is set, else 0600 root. */
export function setSocketOwner(path: string, uid?: number, gid?: number): void {
  if (uid === undefined && gid === undefined) {
    Deno.chmodSync(path, 0o600);
    return;
  }
  Deno.chownSync(path, uid ?? 0, gid ?? 0);
  Deno.chmodSync(path, 0o660);
}

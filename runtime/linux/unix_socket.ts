/**
 * Unix sockets at paths longer than a socket address holds (sun_path: 107
 * bytes and a NUL). State and bundle directories can be deep (an exec root
 * under /tmp, 64-hex container ids), so such a socket is bound or connected
 * by its name relative to its directory, with the working directory changed
 * for the duration of the call.
 */

const SUN_PATH_MAX = 107;

const tooLong = (path: string) => new TextEncoder().encode(path).length > SUN_PATH_MAX;

function split(path: string): [string, string] {
  const slash = path.lastIndexOf("/");
  return [path.slice(0, slash) || "/", path.slice(slash + 1)];
}

/** Deno.listen is synchronous: the working directory is back before anything else runs. */
export function listenUnixSocket(path: string): Deno.UnixListener {
  if (!tooLong(path)) return Deno.listen({ transport: "unix", path });
  const [dir, name] = split(path);
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    return Deno.listen({ transport: "unix", path: name });
  } finally {
    Deno.chdir(cwd);
  }
}

/**
 * Connects to `path`. For a long path the working directory changes until
 * the connection is made: only for processes that do nothing else meanwhile
 * (the runtime's init and `start`), never a daemon.
 */
export async function connectUnixSocket(path: string): Promise<Deno.UnixConn> {
  if (!tooLong(path)) return await Deno.connect({ transport: "unix", path });
  const [dir, name] = split(path);
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    return await Deno.connect({ transport: "unix", path: name });
  } finally {
    Deno.chdir(cwd);
  }
}

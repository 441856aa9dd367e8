/**
 * The Engine API's listeners: node:http servers on unix sockets and TCP.
 * node:http (not Deno.serve) because attach and exec hijack the connection
 * (`101 UPGRADED`), which needs the raw socket node:http's `upgrade` event
 * gives.
 */
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import { type ListenAddress, parseHost } from "../config.ts";

/** Handles a request that asked to upgrade the connection; the socket is then its own. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Listener {
  address: string;
  close(): Promise<void>;
}

/** The gid of `name` from /etc/group, if the group exists. */
export function lookupGroup(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    for (const line of Deno.readTextFileSync("/etc/group").split("\n")) {
      const [n, , gid] = line.split(":");
      if (n === name) return Number(gid);
    }
  } catch { /* no /etc/group */ }
  return undefined;
}

/** Removes a socket file left by a dead daemon; refuses if something still answers on it. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new Error(`another daemon is already listening on ${path}`);
  } catch (e) {
    if ((e as Error).message.startsWith("another daemon")) throw e;
    Deno.removeSync(path);
  }
}

export async function listen(
  host: string,
  fetch: (req: Request) => Promise<Response>,
  onUpgrade: UpgradeHandler,
  opts: { group?: string; log: (msg: string) => void },
): Promise<Listener> {
  const addr: ListenAddress = parseHost(host);
  const server = http.createServer(getRequestListener(fetch));
  // Hijacked connections are no longer the server's: closing it must end them too.
  const hijacked = new Set<Duplex>();
  server.on("upgrade", (req, socket: Duplex, head) => {
    hijacked.add(socket);
    socket.once("close", () => hijacked.delete(socket));
    onUpgrade(req, socket, head);
  });
  // Long-lived streams (logs -f, events, attach) must not be cut by Node's defaults.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 5_000;

  if (addr.kind === "unix") {
    await clearStaleSocket(addr.path);
    Deno.mkdirSync(addr.path.slice(0, addr.path.lastIndexOf("/")) || "/", { recursive: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(addr.path, () => resolve());
    });
    // As dockerd: root plus the docker group when it exists, nobody else.
    const gid = opts.group ? lookupGroup(opts.group) : undefined;
    if (gid !== undefined) {
      Deno.chownSync(addr.path, 0, gid);
      Deno.chmodSync(addr.path, 0o660);
    } else {
      Deno.chmodSync(addr.path, 0o600);
      if (opts.group) opts.log(`group ${opts.group} not found; ${addr.path} is root-only`);
    }
  } else {
    if (addr.hostname !== "127.0.0.1" && addr.hostname !== "::1" && addr.hostname !== "localhost") {
      opts.log(
        `binding to ${host} without TLS: anyone who can reach it has root on this host`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(addr.port, addr.hostname, () => resolve());
    });
  }
  return {
    address: host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of hijacked) s.destroy();
        if (addr.kind === "unix") {
          try {
            Deno.removeSync(addr.path);
          } catch { /* already gone */ }
        }
      }),
  };
}

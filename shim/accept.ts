import { shimLog } from "./shim_log.ts";

/**
 * Calls `onConn` for each connection until the listener is closed. A failed
 * accept (EMFILE, ...) is logged and retried: a `for await` over the listener
 * would end, and the socket would stop answering for good.
 */
export async function acceptEach(
  listener: Deno.Listener,
  what: string,
  onConn: (conn: Deno.Conn) => Promise<void>,
): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
      shimLog(`${what}: accept: ${e}`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    onConn(conn).catch((e) => shimLog(`${what}: ${e?.stack ?? e}`));
  }
}

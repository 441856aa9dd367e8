/**
 * The `shim` role: `shim --dir DIR [--debug]`. Detaches into its own session
 * (containerd's death must not reach it), becomes a child subreaper (so
 * orphans, and the processes a runtime binary leaves, become its children), then
 * serves DIR/shim.sock until its last container is deleted.
 */
import { PR, prctl, setsid } from "../runtime/linux/libc.ts";
import { SHIM_PID_FILE, SHIM_SOCKET } from "./api.ts";
import { writeJsonDurable } from "./records.ts";
import { listenUnixSocket } from "../runtime/linux/unix_socket.ts";
import { ShimServer } from "./server.ts";
import { setShimLog } from "./shim_log.ts";

export async function main(args: string[]): Promise<number> {
  // Two flags, parsed by hand: node:util would load Deno's Node layer, ≈ 15 ms per shim start.
  let dir: string | undefined;
  let debug = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--dir") dir = args[++i];
    else if (a.startsWith("--dir=")) dir = a.slice("--dir=".length);
    else if (a === "--debug") debug = true;
    else {
      console.error(
        `shim: unknown argument ${JSON.stringify(a)} (usage: shim --dir DIR [--debug])`,
      );
      return 2;
    }
  }
  if (!dir || !dir.startsWith("/")) {
    console.error("shim: --dir must be an absolute path");
    return 2;
  }
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logFile = Deno.openSync(`${dir}/shim.log`, { append: true, create: true, mode: 0o600 });
  const log = (msg: string) => {
    try {
      logFile.writeSync(new TextEncoder().encode(`${new Date().toISOString()} ${msg}\n`));
    } catch { /* nowhere to report */ }
  };
  setShimLog(log);
  // A bug in one container's handling must not end the supervision of all of them.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log(`unhandled rejection: ${(e.reason as Error)?.stack ?? e.reason}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log(`uncaught error: ${(e.error as Error)?.stack ?? e.message}`);
  });
  try {
    setsid();
  } catch { /* already a session leader */ }
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  // Signals meant for a terminal or a parent must not end the shim.
  for (const sig of ["SIGINT", "SIGHUP", "SIGPIPE"] as const) {
    try {
      Deno.addSignalListener(sig, () => log(`ignored ${sig}`));
    } catch { /* not supported */ }
  }

  const sock = `${dir}/${SHIM_SOCKET}`;
  try {
    Deno.removeSync(sock);
  } catch { /* none */ }
  // The pid file first: a client that could connect may read it at once.
  writeJsonDurable(`${dir}/${SHIM_PID_FILE}`, Deno.pid);
  const listener = listenUnixSocket(sock);
  Deno.chmodSync(sock, 0o600);
  log(`shim ${Deno.pid} serving ${sock}`);

  const server = new ShimServer(log, debug);
  server.serve(listener).catch((e) => log(`accept: ${e}`));
  await server.done;
  listener.close();
  try {
    Deno.removeSync(sock);
  } catch { /* gone */ }
  log("no container left: exiting");
  return 0;
}

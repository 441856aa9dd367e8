/**
 * The caller's terminal: raw mode for an attached TTY (through the runtime's
 * libc binding, loaded only when a TTY is used), its size, and keeping a
 * container's TTY the same size (resize on start and on every SIGWINCH).
 */
import type { Cli } from "./cli.ts";

/** Puts stdin in raw mode if it is a terminal; returns the restore function. */
export async function makeStdinRaw(cli: Cli): Promise<() => void> {
  if (!cli.io.stdin.isTerminal()) return () => {};
  const { makeRaw } = await import("../runtime/linux/pty.ts");
  let restored = false;
  const restore = makeRaw(0);
  return () => {
    if (restored) return;
    restored = true;
    restore();
  };
}

/**
 * The terminal's size (stdout's, else stdin's, or the given descriptors'),
 * or undefined when none is a terminal.
 */
export async function terminalSize(
  cli: Cli,
  fds = [1, 0],
): Promise<{ rows: number; cols: number } | undefined> {
  if (!cli.io.stdout.isTerminal() && !cli.io.stdin.isTerminal() && !cli.io.stderr.isTerminal()) {
    return undefined;
  }
  const { getWinsize } = await import("../runtime/linux/pty.ts");
  for (const fd of fds) {
    const ws = getWinsize(fd);
    if (ws && ws.rows && ws.cols) return ws;
  }
  return undefined;
}

/**
 * Resizes the container's (or exec's) TTY to the terminal now and on every
 * SIGWINCH (MonitorTtySize). The first resize is retried a few times: the
 * process may not be running yet. Returns the function that stops watching.
 */
export async function monitorTtySize(
  cli: Cli,
  resize: (rows: number, cols: number) => Promise<void>,
): Promise<() => void> {
  if (!cli.io.stdout.isTerminal()) return () => {};
  const apply = async () => {
    const ws = await terminalSize(cli);
    if (ws) await resize(ws.rows, ws.cols);
  };
  for (let i = 0; i < 10; i++) {
    try {
      await apply();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 10 * (i + 1)));
    }
  }
  const onWinch = () => void apply().catch(() => {});
  Deno.addSignalListener("SIGWINCH", onWinch);
  return () => Deno.removeSignalListener("SIGWINCH", onWinch);
}

/**
 * Relays a pty master to this process's own terminal: stdin in raw mode to
 * the master, the master's output to stdout, window size changes along.
 */
import { close, errno, kill, libc, writeAll } from "../linux/libc.ts";
import { acceptUnix, listenUnix, recvFd } from "../linux/fdpass.ts";
import { SIGNALS } from "../linux/signals.ts";
import { getWinsize, makeRaw, setWinsize } from "../linux/pty.ts";

export interface TerminalProxy {
  /** Resolves when the container side closed (all output relayed). */
  done: Promise<void>;
  stop(): void;
}

export function proxyTerminal(master: number): TerminalProxy {
  const restore = Deno.stdin.isTerminal() ? makeRaw(0) : () => {};
  const resize = () => {
    const ws = getWinsize(1) ?? getWinsize(0);
    if (ws) setWinsize(master, ws.rows, ws.cols);
  };
  resize();
  Deno.addSignalListener("SIGWINCH", resize);
  let stopped = false;

  const done = (async () => {
    const buf = new Uint8Array(32 * 1024);
    for (;;) {
      const n = Number(await libc().readBlocking(master, buf, BigInt(buf.length)));
      if (n > 0) {
        writeAll(1, buf.subarray(0, n));
        continue;
      }
      if (n < 0 && errno() === 4) continue; // EINTR
      return; // EIO: every slave fd closed
    }
  })();

  (async () => {
    const buf = new Uint8Array(4096);
    while (!stopped) {
      const n = await Deno.stdin.read(buf).catch(() => null);
      if (n === null) return;
      if (stopped) return;
      try {
        writeAll(master, buf.subarray(0, n));
      } catch {
        return;
      }
    }
  })();

  return {
    done,
    stop() {
      stopped = true;
      Deno.removeSignalListener("SIGWINCH", resize);
      restore();
      close(master);
    },
  };
}

/** A console socket of our own, for a terminal process with no --console-socket. */
export interface OwnConsole {
  path: string;
  /** The pty master, once the init has sent it. */
  master: Promise<number>;
  cleanup(): void;
}

export function receiveConsole(path: string): OwnConsole {
  const fd = listenUnix(path);
  const master = acceptUnix(fd).then(async (conn) => {
    try {
      return (await recvFd(conn)).fd;
    } finally {
      close(conn);
    }
  });
  return {
    path,
    master,
    cleanup() {
      close(fd);
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
    },
  };
}

/** Relays signals this process receives to `pid`; returns the undo. */
export function relaySignals(pid: number): () => void {
  const handlers = RELAYED.map((s) =>
    [s, () => {
      try {
        kill(pid, SIGNALS[s.slice(3)]);
      } catch { /* exited */ }
    }] as const
  );
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  return () => {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  };
}

const RELAYED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** A shell-like exit code from a child's status. */
export function exitCode(status: Deno.CommandStatus): number {
  return status.signal ? 128 + (SIGNALS[status.signal.slice(3)] ?? 0) : status.code;
}

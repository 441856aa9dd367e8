/**
 * Pseudo-terminals: a new pty pair from a given ptmx (the container's own
 * devpts instance), window sizes, and raw mode for the caller's terminal.
 */
import { check, close, libc, O, open } from "./libc.ts";

const TIOCSPTLCK = 0x40045431n, TIOCGPTN = 0x80045430n;
const TIOCSWINSZ = 0x5414n, TIOCGWINSZ = 0x5413n, TIOCSCTTY = 0x540en;

/** Opens a new pty through `ptmx`; the slave is opened through `ptsDir`. */
export function openPty(
  ptmx: string,
  ptsDir: string,
): { master: number; slave: number; name: string } {
  const master = open(ptmx, O.RDWR | O.NOCTTY | O.CLOEXEC);
  try {
    check(libc().ioctl(master, TIOCSPTLCK, new Uint8Array(4)), "ioctl(TIOCSPTLCK)");
    const n = new Uint32Array(1);
    check(libc().ioctl(master, TIOCGPTN, new Uint8Array(n.buffer)), "ioctl(TIOCGPTN)");
    const slave = open(`${ptsDir}/${n[0]}`, O.RDWR | O.NOCTTY | O.CLOEXEC);
    return { master, slave, name: `/dev/pts/${n[0]}` };
  } catch (e) {
    close(master);
    throw e;
  }
}

export function setWinsize(fd: number, rows: number, cols: number): void {
  const ws = new Uint16Array([rows, cols, 0, 0]);
  check(libc().ioctl(fd, TIOCSWINSZ, new Uint8Array(ws.buffer)), "ioctl(TIOCSWINSZ)");
}

export function getWinsize(fd: number): { rows: number; cols: number } | undefined {
  const ws = new Uint16Array(4);
  if (libc().ioctl(fd, TIOCGWINSZ, new Uint8Array(ws.buffer)) === -1) return undefined;
  return { rows: ws[0], cols: ws[1] };
}

/** Makes `fd` the controlling terminal of this (new) session. */
export function setControllingTerminal(fd: number): void {
  check(libc().ioctlInt(fd, TIOCSCTTY, 0n), "ioctl(TIOCSCTTY)");
}

/** Puts a terminal in raw mode; returns a function that restores it. */
export function makeRaw(fd: number): () => void {
  const saved = new Uint8Array(60); // struct termios
  if (libc().tcgetattr(fd, saved) === -1) return () => {};
  const raw = saved.slice();
  libc().cfmakeraw(raw);
  libc().tcsetattr(fd, 0, raw);
  return () => void libc().tcsetattr(fd, 0, saved);
}

/**
 * Passing file descriptors over unix sockets (SCM_RIGHTS), as runc does to
 * hand a container's pty master to the caller's --console-socket.
 */
import { check, close, cstr, Errno, errno, libc } from "./libc.ts";

const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;

function ptr(buf: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

function sockaddrUn(path: string): Uint8Array<ArrayBuffer> {
  const p = cstr(path);
  if (p.length > 108) throw new Error(`socket path too long (max 107 bytes): ${path}`);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(p, 2);
  return addr;
}

/** A connected unix stream socket (raw fd, close-on-exec). */
export function connectUnix(path: string): number {
  const fd = check(libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
  const addr = sockaddrUn(path);
  if (libc().connect(fd, addr, addr.length) === -1) {
    const e = errno();
    close(fd);
    throw new Errno("connect", e, path);
  }
  return fd;
}

interface Msg {
  hdr: Uint8Array<ArrayBuffer>;
  keep: unknown[];
}

/** A msghdr with one data buffer and room for one fd. */
function msghdr(data: Uint8Array<ArrayBuffer>): Msg & { control: Uint8Array<ArrayBuffer> } {
  const iov = new BigUint64Array([ptr(data), BigInt(data.length)]);
  const control = new Uint8Array(24); // CMSG_SPACE(sizeof(int))
  const hdr = new Uint8Array(56);
  const v = new DataView(hdr.buffer);
  v.setBigUint64(16, ptr(iov), true); // msg_iov
  v.setBigUint64(24, 1n, true); // msg_iovlen
  v.setBigUint64(32, ptr(control), true); // msg_control
  v.setBigUint64(40, BigInt(control.length), true); // msg_controllen
  return { hdr, control, keep: [iov, data, control] };
}

/** Sends `fd` with the text `name` over the connected socket `sock`. */
export function sendFd(sock: number, name: string, fd: number): void {
  const data = new TextEncoder().encode(name);
  const m = msghdr(data.length ? data : new Uint8Array(1));
  const c = new DataView(m.control.buffer);
  c.setBigUint64(0, 20n, true); // CMSG_LEN(sizeof(int))
  c.setInt32(8, SOL_SOCKET, true);
  c.setInt32(12, SCM_RIGHTS, true);
  c.setInt32(16, fd, true);
  check(Number(libc().sendmsg(sock, m.hdr, 0)), "sendmsg", "(SCM_RIGHTS)");
}

/** Receives one fd (close-on-exec) and its name; waits on a worker thread. */
export async function recvFd(sock: number): Promise<{ fd: number; name: string }> {
  const data = new Uint8Array(4096);
  const m = msghdr(data);
  const n = Number(await libc().recvmsgBlocking(sock, m.hdr, MSG_CMSG_CLOEXEC));
  if (n < 0) throw new Errno("recvmsg", errno());
  const c = new DataView(m.control.buffer);
  const controllen = Number(new DataView(m.hdr.buffer).getBigUint64(40, true));
  if (
    controllen < 20 || c.getInt32(8, true) !== SOL_SOCKET || c.getInt32(12, true) !== SCM_RIGHTS
  ) {
    throw new Error("recvmsg: the peer sent no file descriptor");
  }
  return { fd: c.getInt32(16, true), name: new TextDecoder().decode(data.subarray(0, n)) };
}

/** A listening unix socket as a raw fd (for receiving fds with recvFd). */
export function listenUnix(path: string): number {
  const fd = check(libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
  const addr = sockaddrUn(path);
  check(libc().bind(fd, addr, addr.length), "bind", path);
  check(libc().listen(fd, 1), "listen", path);
  return fd;
}

/** Accepts one connection on a raw listening fd, on a worker thread. */
export async function acceptUnix(fd: number): Promise<number> {
  const r = await libc().acceptBlocking(fd, null, null, SOCK_CLOEXEC);
  if (r < 0) throw new Errno("accept", errno());
  return r;
}

/**
 * The init: the process the runtime starts inside a container's namespaces
 * (hidden role "init"). It builds the container's filesystem, waits for
 * `start`, then becomes the user's program through execve. The same code
 * runs an exec'd process, which joins a running container instead.
 *
 * Everything this module needs is imported statically, because after
 * pivot_root the host's files (this program's own modules) are out of reach.
 */
import type { Spec, State } from "../spec/types.ts";
import { Channel } from "./channel.ts";
import { runHooks } from "./hooks.ts";
import {
  type CgroupView,
  enterRootfs,
  finishRootfs,
  mountConsole,
  prepareRootfs,
} from "./rootfs.ts";
import {
  chdir,
  cloexecFrom,
  CLONE,
  close,
  dup3,
  execve,
  O,
  open,
  PR,
  prctl,
  prlimit,
  resetSignals,
  RLIMIT,
  setdomainname,
  sethostname,
  setns,
  setsid,
  umask,
  unshare,
} from "../linux/libc.ts";
import { connectUnix, sendFd } from "../linux/fdpass.ts";
import { openPty, setControllingTerminal, setWinsize } from "../linux/pty.ts";
import { applyProcessCredentials } from "../linux/capabilities.ts";
import { loadSeccomp, openLibseccomp } from "../linux/seccomp.ts";
import { connectUnixSocket, listenUnixSocket } from "../linux/unix_socket.ts";

/** What the runtime tells its init, with "go". */
export interface InitConfig {
  mode: "create" | "exec";
  id: string;
  spec: Spec;
  rootfs: string;
  /** create: where the init then waits for `runc start`. */
  startSocket?: string;
  /** Where to send the pty master (process.terminal). */
  consoleSocket?: string;
  noPivot: boolean;
  /** fds 3 .. 3+preserveFds-1 are passed on to the process. */
  preserveFds: number;
  newCgroupNs: boolean;
  cgroups: CgroupView;
  /**
   * create: stop after the mounts for the runtime's prestart and
   * createRuntime hooks ("hooks", then "resume" with the state that
   * createContainer hooks get). Without any of these hooks there is nothing
   * to stop for, and one round trip less.
   */
  hookPause?: boolean;
  /** exec: namespaces the init joins itself (the runtime cannot enter a mount namespace and still start us). */
  join?: { mount?: string; cgroup?: string };
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export async function main(args: string[]): Promise<number> {
  // Until execve nothing in the container may open /proc/<us>/exe, mem, fd/...
  prctl(PR.SET_DUMPABLE, 0);
  // Not the caller's working directory, which might be the bundle's.
  chdir("/");
  // The runtime listens on the socket named by our one argument.
  const chan = new Channel(await connectUnixSocket(args[0]));
  // Who hears of a failure: the runtime until "ready", then `runc start`.
  let reporter: Channel | undefined = chan;
  try {
    const { cfg } = await chan.expect("go");
    if (cfg.mode === "exec") {
      const proc = joinContainer(cfg);
      await chan.expect("placed");
      return await finalizeAndExec(cfg, proc, chan, "ready");
    }
    const proc = await setupContainer(cfg, chan);
    await chan.send({ type: "ready" });
    chan.close();
    reporter = undefined;
    const start = await waitForStart();
    reporter = start.chan;
    await runHooks("startContainer", cfg.spec.hooks?.startContainer, start.state);
    return await finalizeAndExec(cfg, proc, reporter, "started");
  } catch (e) {
    const message = (e as Error).message;
    const sent = reporter
      ? await reporter.send({ type: "error", message }).then(() => true, () => false)
      : false;
    if (!sent) console.error(`berth-init: ${message}`);
    reporter?.close();
    return 1;
  }
}

/** What is left to do right before execve. */
interface PreparedProcess {
  path: string;
  env: string[];
  slave?: number;
}

let startListener: Deno.UnixListener | undefined;

async function setupContainer(cfg: InitConfig, chan: Channel): Promise<PreparedProcess> {
  const { spec, rootfs } = cfg;
  // The host's libseccomp, never one from the container's rootfs.
  if (spec.linux?.seccomp) openLibseccomp();
  // Early, so that hooks running in the container's namespaces already see them.
  if (spec.hostname) sethostname(spec.hostname);
  if (spec.domainname) setdomainname(spec.domainname);
  // The runtime puts us in our cgroup meanwhile; a cgroup namespace of our
  // own must be made after that (its root is the cgroup we are in).
  let placed: Promise<void> | undefined;
  const inCgroup = () =>
    placed ??= chan.expect("placed").then(() => {
      if (cfg.newCgroupNs) unshare(CLONE.NEWCGROUP);
    });
  await prepareRootfs(spec, rootfs, cfg.cgroups, inCgroup);
  await inCgroup();
  let slave: number | undefined;
  if (spec.process!.terminal) slave = createConsole(cfg, `${rootfs}/dev/pts`, rootfs);
  if (cfg.hookPause) {
    await chan.send({ type: "hooks" });
    const { state } = await chan.expect("resume");
    await runHooks("createContainer", spec.hooks?.createContainer, state);
  }
  // Listen before pivot_root: the host path of the socket is unreachable afterwards.
  startListener = listenUnixSocket(cfg.startSocket!);
  enterRootfs(rootfs, cfg.noPivot);
  // Before readonlyPaths make /proc/sys read-only, and before a read-only root.
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    Deno.writeTextFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, value);
  }
  // Like runc, a missing working directory is created (as root).
  Deno.mkdirSync(spec.process!.cwd, { recursive: true, mode: 0o755 });
  finishRootfs(spec);
  return prepareProcess(spec, slave);
}

function joinContainer(cfg: InitConfig): PreparedProcess {
  const { spec } = cfg;
  // The console socket's path is a host path: connect before leaving the host's mounts.
  const consoleFd = spec.process!.terminal && cfg.consoleSocket
    ? connectUnix(cfg.consoleSocket)
    : undefined;
  if (spec.linux?.seccomp) openLibseccomp();
  unshare(CLONE.FS);
  for (
    const [path, flag] of [[cfg.join?.cgroup, CLONE.NEWCGROUP], [
      cfg.join?.mount,
      CLONE.NEWNS,
    ]] as const
  ) {
    if (!path) continue;
    const fd = open(path, O.RDONLY | O.CLOEXEC);
    try {
      setns(fd, flag, path);
    } finally {
      close(fd);
    }
  }
  let slave: number | undefined;
  if (spec.process!.terminal) slave = createConsole(cfg, "/dev/pts", undefined, consoleFd);
  return prepareProcess(spec, slave);
}

/** A pty from the container's devpts; the master goes to the console socket. */
function createConsole(
  cfg: InitConfig,
  ptsDir: string,
  rootfs?: string,
  connected?: number,
): number {
  if (!cfg.consoleSocket && connected === undefined) {
    throw new Error("process.terminal is set but no --console-socket was given");
  }
  let pty;
  try {
    pty = openPty(`${ptsDir}/ptmx`, ptsDir);
  } catch (e) {
    throw new Error(`process.terminal needs a devpts mount at /dev/pts: ${(e as Error).message}`);
  }
  const size = cfg.spec.process!.consoleSize;
  if (size) setWinsize(pty.master, size.height, size.width);
  if (rootfs) mountConsole(rootfs, `${ptsDir}/${pty.name.slice("/dev/pts/".length)}`);
  const sock = connected ?? connectUnix(cfg.consoleSocket!);
  try {
    sendFd(sock, pty.name, pty.master);
  } finally {
    close(sock);
    close(pty.master);
  }
  return pty.slave;
}

/** Steps that happen inside the container's root for both create and exec. */
function prepareProcess(spec: Spec, slave: number | undefined): PreparedProcess {
  const p = spec.process!;
  if (p.oomScoreAdj !== undefined) {
    Deno.writeTextFileSync("/proc/self/oom_score_adj", String(p.oomScoreAdj));
  }
  try {
    chdir(p.cwd);
  } catch (e) {
    throw new Error(`process.cwd ${p.cwd}: ${(e as Error).message}`);
  }
  const env = p.env ?? [];
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${homeOf(p.user.uid)}`);
  return { path: lookPath(p.args![0], env), env, slave };
}

/** The user's home directory from the container's /etc/passwd, else "/". */
function homeOf(uid: number): string {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f.length >= 6 && Number(f[2]) === uid && f[2] !== "") return f[5] || "/";
    }
  } catch { /* no passwd file */ }
  return "/";
}

/** Resolves the program like execvp would, so a missing one fails at create time. */
function lookPath(file: string, env: string[]): string {
  const candidates = file.includes("/")
    ? [file]
    : (env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH).split(":").map((d) =>
      `${d || "."}/${file}`
    );
  for (const c of candidates) {
    try {
      const info = Deno.statSync(c);
      if (info.isFile && (info.mode! & 0o111)) return c;
      if (file.includes("/")) throw new Error(`exec: "${file}": permission denied`);
    } catch (e) {
      if (file.includes("/") && e instanceof Deno.errors.NotFound) {
        throw new Error(`exec: "${file}": stat ${file}: no such file or directory`);
      }
      if (e instanceof Error && e.message.startsWith("exec:")) throw e;
    }
  }
  throw new Error(`exec: "${file}": executable file not found in $PATH`);
}

/** Blocks until `runc start` connects and asks to start. */
async function waitForStart(): Promise<{ chan: Channel; state: State }> {
  const conn = await startListener!.accept();
  startListener!.close();
  const chan = new Channel(conn);
  const { state } = await chan.expect("start");
  return { chan, state };
}

/** The last steps, in an order that keeps each one possible, then execve. */
async function finalizeAndExec(
  cfg: InitConfig,
  proc: PreparedProcess,
  chan: Channel,
  done: "ready" | "started",
): Promise<never> {
  const p = cfg.spec.process!;
  if (proc.slave !== undefined) {
    setsid();
    setControllingTerminal(proc.slave);
    for (const fd of [0, 1, 2]) dup3(proc.slave, fd);
    close(proc.slave);
  }
  umask(p.user.umask ?? 0o022);
  // Here, not earlier: the limits are the process's, and this one (a Deno
  // process with dozens of open files) still has to accept `start` and
  // answer it; a low RLIMIT_NOFILE would make that fail.
  for (const r of p.rlimits ?? []) prlimit(0, RLIMIT[r.type], BigInt(r.soft), BigInt(r.hard));
  const seccomp = cfg.spec.linux?.seccomp;
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
  if (seccomp && !p.noNewPrivileges) loadSeccomp(seccomp);
  applyProcessCredentials({
    uid: p.user.uid,
    gid: p.user.gid,
    additionalGids: p.user.additionalGids ?? [],
    capabilities: p.capabilities ?? {},
  });
  if (p.noNewPrivileges) prctl(PR.SET_NO_NEW_PRIVS, 1);
  // As late as possible: whoever waits may signal the process from now on.
  await chan.send({ type: done });
  chan.close();
  cloexecFrom(3 + cfg.preserveFds);
  resetSignals();
  if (seccomp && p.noNewPrivileges) loadSeccomp(seccomp);
  execve(proc.path, p.args!, proc.env);
}

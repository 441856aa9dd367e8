/**
 * Reaping for a child subreaper that lives inside Deno. Deno reaps the
 * children it spawned itself (runtime invocations, and the container
 * processes the in-process runtime starts); the processes a runtime binary
 * starts become the shim's children only when that runtime exits, and Deno
 * knows nothing of them. So: waitpid() on exactly those pids
 * (never waitpid(-1), which would steal Deno's own children), on SIGCHLD and
 * on a slow timer as a backstop, and reap orphaned zombies re-parented to the
 * shim that nobody waits for.
 */
import { decodeWaitStatus, waitpid, WNOHANG } from "../runtime/linux/libc.ts";
import { awaitedChildren } from "../runtime/linux/spawn.ts";

type OnExit = (status: number) => void;

const watched = new Map<number, OnExit>();
/** Pids of runtime invocations Deno is waiting for: never reap those. */
const spawned = new Set<number>();
let started = false;

export function markSpawned(pid: number): void {
  spawned.add(pid);
}
export function unmarkSpawned(pid: number): void {
  spawned.delete(pid);
}

/** Calls `onExit` with the exit code (or 128 + signal) once `pid` has exited. */
export function watchPid(pid: number, onExit: OnExit): void {
  watched.set(pid, onExit);
  startReaping();
  reap(false);
}

/** Reaps orphans from now on (watchPid starts it too): a subreaper must never gather zombies. */
export function startReaping(): void {
  if (started) return;
  started = true;
  Deno.addSignalListener("SIGCHLD", () => reap(true));
  // Backstops for a SIGCHLD that coalesced with one Deno consumed: our pids
  // often (cheap), orphans rarely (a scan of /proc).
  setInterval(() => reap(false), 1000);
  setInterval(() => reapOrphans(), 10_000);
}

const statusBuf = new Int32Array(1);

function tryWait(pid: number): number | undefined {
  const r = waitpid(pid, statusBuf, WNOHANG);
  if (r === pid) return decodeWaitStatus(statusBuf[0]).code;
  if (r === 0) return undefined;
  // ECHILD: not (or no longer) our child. Exited if /proc no longer has it.
  try {
    Deno.statSync(`/proc/${pid}`);
    return undefined;
  } catch {
    return 255;
  }
}

export function reap(orphans = true): void {
  for (const [pid, onExit] of [...watched]) {
    const code = tryWait(pid);
    if (code === undefined) continue;
    watched.delete(pid);
    onExit(code);
  }
  if (orphans) reapOrphans();
}

/** Zombies whose parent is the shim and which no one else will wait for. */
function reapOrphans(): void {
  const self = Deno.pid;
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    // Programs the in-process runtime runs (hooks) are waited for by it.
    if (!pid || watched.has(pid) || spawned.has(pid) || awaitedChildren.has(pid)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      continue;
    }
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" && Number(fields[1]) === self) tryWait(pid);
  }
}

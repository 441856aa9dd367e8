/**
 * Taking an exec'd process over from the runtime that started it.
 *
 * `runc exec` runs in the foreground: a detached runtime (a Deno process)
 * reaps an exec that exits before the runtime itself does, and the status is
 * lost. But a runtime waiting for a long exec costs a whole Deno process. So
 * once the process runs, the shim stops the runtime (a stopped process cannot
 * reap), checks that the process is still the runtime's (alive or a zombie
 * not yet reaped), and kills the runtime: the process is re-parented to the
 * shim, the child subreaper, which reaps it with its status.
 */
import { kill } from "../runtime/linux/libc.ts";
import { watchPid } from "./reaper.ts";

const SIGKILL = 9, SIGCONT = 18, SIGSTOP = 19;

/** State letter and parent pid from /proc/PID/stat; undefined once reaped. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: f[0], ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

/**
 * Adopts `pid` from the runtime `runtimePid` and calls `onExit` with its
 * status when it exits. Returns false (the runtime left running, to report
 * the status itself) when the process is not the runtime's any more.
 */
export async function adoptFromRuntime(
  runtimePid: number,
  runtimeDone: Promise<unknown>,
  pid: number,
  onExit: (code: number) => void,
): Promise<boolean> {
  try {
    kill(runtimePid, SIGSTOP);
  } catch {
    return false; // already gone
  }
  for (let i = 0;; i++) {
    const st = procStat(runtimePid)?.state;
    if (st === "T" || st === "t") break;
    if (st === undefined || st === "Z" || st === "X" || i >= 200) {
      try {
        kill(runtimePid, SIGCONT);
      } catch { /* gone */ }
      return false;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  if (procStat(pid)?.ppid !== runtimePid) {
    kill(runtimePid, SIGCONT);
    return false;
  }
  // Watched before the runtime dies, so the orphan sweep leaves it alone.
  watchPid(pid, onExit);
  kill(runtimePid, SIGKILL);
  await runtimeDone;
  return true;
}

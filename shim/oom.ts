/**
 * OOM kills in a container's memory cgroup, reported as "oom" events while
 * the container runs (Docker's `oom` event) and once more when its init
 * exits. Only containers with a memory limit are polled: without one, only
 * the host's OOM killer can strike, and containerd checks at exit anyway.
 */
import { oomKills } from "../daemon/containerd/tasks/oom.ts";

const POLL_MS = 2000;

export class OomWatch {
  #seen = 0;
  #timer?: ReturnType<typeof setInterval>;

  constructor(readonly bundle: string, readonly id: string, readonly report: () => void) {}

  /** Starts polling if the container's spec limits its memory. */
  start(): void {
    let limited = false;
    try {
      const spec = JSON.parse(Deno.readTextFileSync(`${this.bundle}/config.json`));
      limited = Number(spec?.linux?.resources?.memory?.limit ?? 0) > 0;
    } catch { /* no spec: nothing to watch */ }
    if (!limited) return;
    const timer = setInterval(() => this.check(), POLL_MS);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Reports new kills since the last look. */
  check(): void {
    const n = oomKills(this.bundle, this.id);
    if (n > this.#seen) {
      this.#seen = n;
      this.report();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

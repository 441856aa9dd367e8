/** The interface both cgroup versions implement. */

import type { Device, Resources } from "../spec/types.ts";
import type { CgroupStats } from "./stats.ts";

/** Options of {@link CgroupManager.set}. */
export interface SetOptions {
  /**
   * The spec's linux.devices: a default device rule is left out for a path
   * listed here (see containerDeviceRules).
   */
  devices?: Device[];
  /** Leave the device rules alone (the default devices are applied otherwise). */
  skipDevices?: boolean;
}

/** One container's cgroup, on every hierarchy (v1) or on the unified one (v2). */
export interface CgroupManager {
  /** 1 or 2. */
  readonly version: 1 | 2;
  /**
   * The cgroup's directories: v1 by controller ("cpu", "cpuacct", "memory",
   * ... and "freezer"; comounted controllers share a directory); v2 `{ "": dir }`.
   * Save it in the container's state and hand it to `loadCgroupManager`.
   */
  readonly paths: Record<string, string>;
  /** Creates every directory (v2: enables the available controllers in the ancestors). */
  create(): void;
  /** Moves the process `pid` (with its threads) into the cgroup. */
  apply(pid: number): void;
  /**
   * Applies resource limits and the device rules. A field that cannot be
   * applied here (no such controller or file, or a v1/v2-only field) throws
   * an Error naming the field; write errors name the file and the value.
   * Zero numbers mean "not set", like in runc.
   */
  set(resources: Resources, opts?: SetOptions): void;
  /** The `runc events --stats` data. */
  stats(): CgroupStats;
  /** Freezes every process; resolves when the kernel reports the cgroup frozen. */
  freeze(): Promise<void>;
  /** Thaws the cgroup; resolves when it runs again. */
  thaw(): Promise<void>;
  /** True when the cgroup is frozen (false when it does not exist). */
  frozen(): boolean;
  /** Every pid in the cgroup and in the cgroups below it. */
  pids(): number[];
  /**
   * Removes the cgroup's directories (and any cgroups below them), retrying
   * briefly while exiting processes still keep them busy. Missing
   * directories are fine; ancestors (e.g. /berth) are kept.
   */
  destroy(): Promise<void>;
}

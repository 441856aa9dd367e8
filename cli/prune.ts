/**
 * The prune commands' shared parts: the confirmation prompt (skipped with
 * -f; anything but y/Y cancels quietly) and the report of what went.
 */
import type { Cli } from "./cli.ts";
import { humanSize } from "./units.ts";

/** Prints `message` and reads one answer line from stdin. */
export async function confirm(cli: Cli, message: string): Promise<boolean> {
  cli.out(`${message}\nAre you sure you want to continue? [y/N] `);
  let line = "";
  const buf = new Uint8Array(1);
  for (;;) {
    const n = await cli.io.stdin.read(buf);
    if (n === null) break;
    const c = String.fromCharCode(buf[0]);
    if (c === "\n") break;
    line += c;
  }
  return /^\s*y(es)?\s*$/i.test(line);
}

export interface PruneReport {
  ContainersDeleted?: string[] | null;
  ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null;
  NetworksDeleted?: string[] | null;
  VolumesDeleted?: string[] | null;
  CachesDeleted?: string[] | null;
  SpaceReclaimed?: number;
}

/** The "Deleted ...:" blocks of one prune answer; returns the space it reclaimed. */
export function printDeleted(cli: Cli, r: PruneReport): number {
  const block = (title: string, items: string[]) => {
    if (items.length) cli.out(`${title}:\n${items.join("\n")}\n\n`);
  };
  block("Deleted Containers", r.ContainersDeleted ?? []);
  block("Deleted Networks", r.NetworksDeleted ?? []);
  block("Deleted Volumes", r.VolumesDeleted ?? []);
  block(
    "Deleted Images",
    (r.ImagesDeleted ?? []).map((i) =>
      i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`
    ),
  );
  block("Deleted build cache objects", r.CachesDeleted ?? []);
  return r.SpaceReclaimed ?? 0;
}

export function printReclaimed(cli: Cli, bytes: number): void {
  cli.out(`Total reclaimed space: ${humanSize(bytes)}\n`);
}

export const PRUNE_FILTER = {
  name: "filter",
  type: "list" as const,
  varname: "filter",
  usage: 'Provide filter values (e.g. "until=<timestamp>")',
};

export const FORCE = {
  name: "force",
  short: "f",
  type: "bool" as const,
  usage: "Do not prompt for confirmation",
};

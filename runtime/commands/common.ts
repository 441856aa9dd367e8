/** Flags and argument checks shared by several commands (kept apart from create's heavy imports). */
import { UsageError } from "../args.ts";

export const CREATE_FLAGS = {
  bundle: { type: "string", short: "b" },
  "console-socket": { type: "string" },
  "pid-file": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
} as const;

export function preserveFds(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new UsageError(`--preserve-fds: not a number: ${value}`);
  return Number(value);
}

export function oneId(positionals: string[], command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      `"${command}" requires exactly 1 argument (the container id), got ${positionals.length}`,
    );
  }
  return positionals[0];
}

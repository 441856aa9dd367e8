/**
 * Commands that act on several containers (stop, kill, rm, pause, ...): each
 * one in turn, its name printed on success; the errors are printed together
 * at the end and the status is 1 (errors.Join in the Docker CLI).
 */
import type { Cli } from "./cli.ts";
import { ConnectError, StatusError } from "./errors.ts";

export async function forEach(
  cli: Cli,
  names: string[],
  op: (name: string) => Promise<void>,
  opts: { print?: boolean; ignore?: (e: unknown) => boolean } = {},
): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      await op(name);
      if (opts.print ?? true) cli.out(name + "\n");
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      if (opts.ignore?.(e)) {
        // Reported, but not a failure (rm -f of a missing container).
        cli.err((e as Error).message + "\n");
        continue;
      }
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new StatusError(errors.join("\n"), 1);
  return 0;
}

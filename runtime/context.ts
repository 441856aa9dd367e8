import type { Logger } from "./log.ts";

/** What every runtime command gets: the global flags, resolved. */
export interface RuntimeContext {
  /** The state directory holding one subdirectory per container. */
  root: string;
  log: Logger;
}

/** A command of the runtime's CLI. Returns the process exit code. */
export type Command = (ctx: RuntimeContext, args: string[]) => Promise<number>;

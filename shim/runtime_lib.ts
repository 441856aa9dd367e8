/**
 * berth's own runtime, called in-process: the shim creates, starts, signals
 * and deletes a container and starts its exec processes itself instead of
 * running `runc create`, `exec`, `start`, `kill` and `delete`, each a Deno
 * start-up of its own. The state is the runtime's, under the same --root, so
 * the `runc` command line (still used for pause, ps, stats and update) sees
 * the same containers. Used when the container's runtime is berth's own, not
 * a runtime binary of the caller's.
 */
import type { RuntimeContext } from "../runtime/context.ts";
import { Logger } from "../runtime/log.ts";
import { createContainer, type CreateOptions } from "../runtime/container/create.ts";
import { execInContainer, type ExecOptions } from "../runtime/container/exec.ts";
import type { StartedInit } from "../runtime/container/init_process.ts";
import { startContainer } from "../runtime/container/start.ts";
import { killContainer } from "../runtime/container/container.ts";
import { deleteContainer } from "../runtime/container/delete.ts";
import { classify, ShimFailure } from "./errors.ts";

export class RuntimeLib {
  readonly ctx: RuntimeContext;

  constructor(readonly opts: { runtimeRoot: string; bundle: string }) {
    // Warnings land where the runtime's own would: <bundle>/runtime.log.
    this.ctx = {
      root: opts.runtimeRoot,
      log: new Logger(`${opts.bundle}/runtime.log`, "json", false),
    };
  }

  /** Creates the container; its init is this process's child, waiting for start. */
  create(opts: CreateOptions): Promise<StartedInit> {
    return this.#call(async () => (await createContainer(this.ctx, opts)).init);
  }

  /** Starts a process in the running container; it is this process's child. */
  exec(opts: ExecOptions): Promise<StartedInit> {
    return this.#call(() => execInContainer(this.ctx, opts));
  }

  start(id: string): Promise<void> {
    return this.#call(() => startContainer(this.ctx, id));
  }

  kill(id: string, signal: number, all: boolean): Promise<void> {
    return this.#call(() => killContainer(this.ctx, id, signal, all));
  }

  delete(id: string, force: boolean): Promise<void> {
    return this.#call(() => deleteContainer(this.ctx, id, force));
  }

  /** The runtime's errors as ShimFailures with a fitting code, as from the command line. */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new ShimFailure(classify(msg), msg);
    }
  }
}

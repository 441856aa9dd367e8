/**
 * OCI hooks: each one is a program run with exactly its path, args (argv[0]
 * included) and env, given the container's state on stdin, and killed when
 * its timeout passes. A failing hook fails the lifecycle step it
 * belongs to (except poststart and poststop, whose failures are warnings).
 */
import type { Hook, State } from "../spec/types.ts";
import { runProgram } from "../linux/spawn.ts";

export type HookPhase =
  | "prestart"
  | "createRuntime"
  | "createContainer"
  | "startContainer"
  | "poststart"
  | "poststop";

export async function runHooks(
  phase: HookPhase,
  hooks: Hook[] | undefined,
  state: State,
): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    await runHook(`${phase}[${i}]`, hook, state);
  }
}

async function runHook(name: string, hook: Hook, state: State): Promise<void> {
  let r;
  try {
    r = await runProgram(hook.path, hook.args?.length ? hook.args : [hook.path], hook.env ?? [], {
      stdin: new TextEncoder().encode(JSON.stringify(state)),
      timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined,
    });
  } catch (e) {
    throw new Error(`hook ${name} (${hook.path}): cannot run: ${(e as Error).message}`);
  }
  if (r.timedOut) throw new Error(`hook ${name} (${hook.path}) timed out after ${hook.timeout}s`);
  if (r.code !== 0) {
    const err = r.stderr.trim();
    throw new Error(
      `hook ${name} (${hook.path}) failed with exit code ${r.code}${err ? `: ${err}` : ""}`,
    );
  }
}

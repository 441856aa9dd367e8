/**
 * OCI hooks: each one is a program given the container's state on stdin,
 * killed when its timeout passes. A failing hook fails the lifecycle step it
 * belongs to (except poststart and poststop, whose failures are warnings).
 */
import type { Hook, State } from "../spec/types.ts";

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
  const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
  const env: Record<string, string> = {};
  for (const kv of hook.env ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(hook.path, {
      args,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(`hook ${name} (${hook.path}): cannot run: ${(e as Error).message}`);
  }
  void argv0; // Deno.Command cannot set argv[0]; the hook sees its path there.
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(state))).catch(() => {});
  await writer.close().catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  if (hook.timeout) {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, hook.timeout * 1000);
  }
  const out = await child.output();
  clearTimeout(timer);
  if (timedOut) throw new Error(`hook ${name} (${hook.path}) timed out after ${hook.timeout}s`);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(
      `hook ${name} (${hook.path}) failed with exit code ${out.code}${err ? `: ${err}` : ""}`,
    );
  }
}

/**
 * berth's own Docker client (the `docker` role) for tests, run like the real
 * CLI in tests/helpers/dockerd.ts: its own empty config dir, given stdin.
 */
import { REPO } from "./runtime.ts";
import type { CliResult } from "./dockerd.ts";

const td = new TextDecoder();

export function berthDockerArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", `${REPO}/main.ts`, "docker", ...args];
}

/** berth's `docker` with `args`, DOCKER_CONFIG under `dir`. */
export async function runBerthDocker(
  args: string[],
  dir: string,
  opts: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const configDir = `${dir}/docker-config`;
  Deno.mkdirSync(configDir, { recursive: true });
  const [cmd, ...rest] = berthDockerArgv(args);
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { DOCKER_CONFIG: configDir, ...opts.env },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

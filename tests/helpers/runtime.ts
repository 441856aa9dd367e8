/**
 * How the tests invoke the OCI runtime under test.
 *
 * By default that is berth's `runc` role through `deno run`. Set
 * BERTH_TEST_RUNC to another runtime's command line (split on spaces), for
 * example `BERTH_TEST_RUNC=/usr/sbin/runc deno test -A tests/`, to check the
 * tests themselves against the reference implementation.
 */
import { removeTree } from "./bundle.ts";

/** The repository root (no trailing slash). */
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The command line of the runtime under test, without any arguments. */
export function runtimeArgv(): string[] {
  const env = Deno.env.get("BERTH_TEST_RUNC")?.trim();
  if (env) return env.split(/\s+/);
  return [Deno.execPath(), "run", "-A", `${REPO}/main.ts`, "runc"];
}

/** True when the runtime under test is berth (BERTH_TEST_RUNC unset). */
export function isBerth(): boolean {
  return !Deno.env.get("BERTH_TEST_RUNC")?.trim();
}

export interface RunResult {
  /** Exit code; 124 when the call timed out and was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RuncOptions {
  /** The runtime's state directory (always passed as `--root`). */
  root: string;
  /** Data for the runtime's stdin (default: /dev/null). */
  stdin?: string | Uint8Array;
  /** Kill the runtime after this long (default 60 s); the result's code is then 124. */
  timeoutMs?: number;
  /** Working directory of the runtime. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * Where the runtime's (and so a detached container's) stdout goes. By
   * default a temporary file that is read and removed when the runtime exits.
   */
  stdoutFile?: string;
  /** Like stdoutFile, for stderr. */
  stderrFile?: string;
  /** Use this runtime command line instead of {@link runtimeArgv}. */
  argv?: string[];
  /** Global options placed before `--root` (e.g. `["--log", path]`). */
  globalArgs?: string[];
}

const td = new TextDecoder();

/**
 * Children of Deno start with signals 32 and 33 ignored, which a runtime
 * may pass on to the container (runc does), and glibc-based tools such as
 * `env --default-signal` cannot reset them. The tests check what the runtime
 * itself does, so they start it through this perl script: raw
 * rt_sigaction(SIG_DFL) for every signal, an empty signal mask, then exec.
 * (perl-base is essential on Debian.)
 */
const RESET_SIGNALS_AND_EXEC = `
  for my $s (1 .. 64) {
    next if $s == 9 || $s == 19;
    my $act = pack("QQQQ", 0, 0, 0, 0);
    syscall(13, $s, $act, 0, 8);
  }
  my $set = pack("Q", 0);
  syscall(14, 2, $set, 0, 8);
  exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n";
`;

/**
 * Runs `<runtime> [globalArgs] --root ROOT ARGS...` and returns its exit
 * code and output.
 *
 * stdout and stderr go to files, not pipes: a container created by the call
 * inherits them and may outlive the runtime, and a pipe would then keep the
 * call from ever finishing.
 */
export async function runc(args: string[], opts: RuncOptions): Promise<RunResult> {
  const argv = [...(opts.argv ?? runtimeArgv()), ...(opts.globalArgs ?? []), "--root", opts.root];
  const tmpOut = opts.stdoutFile ? undefined : await Deno.makeTempFile({ prefix: "berth-out-" });
  const tmpErr = opts.stderrFile ? undefined : await Deno.makeTempFile({ prefix: "berth-err-" });
  const out = opts.stdoutFile ?? tmpOut!;
  const err = opts.stderrFile ?? tmpErr!;
  try {
    const child = new Deno.Command("perl", {
      args: [
        "-e",
        RESET_SIGNALS_AND_EXEC,
        "/bin/sh",
        "-c",
        'o=$1 e=$2; shift 2; exec "$@" >>"$o" 2>>"$e"',
        "sh",
        out,
        err,
        ...argv,
        ...args,
      ],
      cwd: opts.cwd,
      env: { DENO_NO_UPDATE_CHECK: "1", ...opts.env },
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      const data = typeof opts.stdin === "string"
        ? new TextEncoder().encode(opts.stdin)
        : opts.stdin;
      await w.write(data).catch(() => {});
      await w.close().catch(() => {});
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, opts.timeoutMs ?? 60_000);
    const status = await child.status;
    clearTimeout(timer);
    const stdout = td.decode(await Deno.readFile(out));
    let stderr = td.decode(await Deno.readFile(err));
    if (timedOut) stderr += `\n[test harness: killed after ${opts.timeoutMs ?? 60_000} ms]`;
    return { code: timedOut ? 124 : status.code, stdout, stderr };
  } finally {
    if (tmpOut) await Deno.remove(tmpOut).catch(() => {});
    if (tmpErr) await Deno.remove(tmpErr).catch(() => {});
  }
}

/** Describes a result for assertion messages. */
export function describe(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Like {@link runc}, but throws unless the runtime exits with 0; returns stdout. */
export async function runcOk(args: string[], opts: RuncOptions): Promise<string> {
  const r = await runc(args, opts);
  if (r.code !== 0) throw new Error(`runc ${args.join(" ")} failed: ${describe(r)}`);
  return r.stdout;
}

/** Force-deletes every container the runtime lists under `root`. */
export async function deleteAll(root: string, argv?: string[]): Promise<void> {
  const list = await runc(["list", "-q"], { root, argv, timeoutMs: 20_000 });
  const ids = list.code === 0 ? list.stdout.split("\n").filter(Boolean) : [];
  for (const id of ids) {
    await runc(["delete", "--force", id], { root, argv, timeoutMs: 20_000 });
  }
}

/**
 * Runs `fn` with a fresh state directory, then force-deletes whatever
 * containers are left in it and removes it.
 */
export async function withRoot<T>(fn: (root: string) => Promise<T>, argv?: string[]): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "berth-test-root-" });
  try {
    return await fn(root);
  } finally {
    await deleteAll(root, argv).catch(() => {});
    await removeTree(root);
  }
}

/** Polls `check` every 20 ms until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The text of a file, or "" when it does not exist (yet). */
export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

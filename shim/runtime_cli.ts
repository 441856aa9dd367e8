/**
 * The OCI runtime as a command: `<runtime> --root R --log <bundle>/runtime.log
 * --log-format json <command> ...`, by default this program's `runc` role.
 */
import { selfCommand } from "../runtime/self_exec.ts";
import { classify, ShimFailure } from "./errors.ts";
import { markSpawned, unmarkSpawned } from "./reaper.ts";
import { cloexecFrom } from "../runtime/linux/libc.ts";

const td = new TextDecoder();

export class RuntimeCli {
  constructor(
    readonly opts: { runtime?: string[]; runtimeRoot: string; bundle: string },
  ) {}

  /** The full command line for `args`. */
  argv(args: string[]): string[] {
    let base = this.opts.runtime;
    if (!base) {
      const c = selfCommand("runc");
      base = [c.command, ...c.args];
    }
    return [
      ...base,
      "--root",
      this.opts.runtimeRoot,
      "--log",
      `${this.opts.bundle}/runtime.log`,
      "--log-format",
      "json",
      ...args,
    ];
  }

  /** The last error the runtime logged (its stderr may be the container's). */
  lastError(fallback: string): string {
    try {
      const lines = Deno.readTextFileSync(`${this.opts.bundle}/runtime.log`).trim().split("\n");
      for (const line of lines.reverse()) {
        const entry = JSON.parse(line);
        if (entry.level === "error") return entry.msg;
      }
    } catch { /* no log */ }
    return fallback;
  }

  /** The runtime's failure for `command`, as a ShimFailure with a fitting code. */
  failure(command: string, code: number, stderr = ""): ShimFailure {
    const msg = stderr.trim().replace(/^berth-runc: /, "") ||
      this.lastError(`runtime ${command} failed (exit ${code})`);
    return new ShimFailure(classify(msg), msg);
  }

  /** A short command whose stdio is its own (start, kill, delete, ps, ...); returns stdout. */
  async run(args: string[], stdin?: string): Promise<string> {
    const [cmd, ...rest] = this.argv(args);
    cloexecFrom(3);
    const child = new Deno.Command(cmd, {
      args: rest,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      cwd: this.opts.bundle,
    }).spawn();
    markSpawned(child.pid);
    try {
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const out = await child.output();
      if (out.code !== 0) throw this.failure(args[0], out.code, td.decode(out.stderr));
      return td.decode(out.stdout);
    } finally {
      unmarkSpawned(child.pid);
    }
  }
}

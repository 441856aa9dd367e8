/** `exec`: runc's flags, or a whole process JSON with --process. */
import type { Command } from "../context.ts";
import type { Process } from "../spec/types.ts";
import { parseFlags, UsageError } from "../args.ts";
import { execInContainer } from "../container/exec.ts";
import { loadRecord } from "../container/state.ts";
import { preserveFds } from "./common.ts";
import {
  exitCode,
  type OwnConsole,
  proxyTerminal,
  receiveConsole,
  relaySignals,
  type TerminalProxy,
} from "../container/terminal_proxy.ts";

const FLAGS = {
  "console-socket": { type: "string" },
  cwd: { type: "string" },
  env: { type: "strings", short: "e" },
  tty: { type: "boolean", short: "t" },
  user: { type: "string", short: "u" },
  "additional-gids": { type: "strings", short: "g" },
  process: { type: "string", short: "p" },
  detach: { type: "boolean", short: "d" },
  "pid-file": { type: "string" },
  "process-label": { type: "string" },
  apparmor: { type: "string" },
  "no-new-privs": { type: "boolean" },
  cap: { type: "strings", short: "c" },
  "preserve-fds": { type: "string" },
  cgroup: { type: "strings" },
  "ignore-paused": { type: "boolean" },
} as const;

const exec: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, FLAGS, { stopAtFirstPositional: true });
  const [id, ...argv] = positionals;
  if (!id) throw new UsageError(`"exec" requires at least 1 argument (ID [COMMAND...])`);
  if (flags.apparmor || flags["process-label"]) {
    throw new Error("AppArmor and SELinux labels are not supported by berth");
  }
  if (flags.cgroup?.length) {
    throw new Error("--cgroup (sub-cgroups for exec) is not supported by berth");
  }
  const process = buildProcess(ctx.root, id, argv, flags);
  let ownConsole: OwnConsole | undefined;
  if (process.terminal && !flags["console-socket"]) {
    if (flags.detach) {
      throw new Error("cannot allocate tty if runc will detach without setting console socket");
    }
    ownConsole = receiveConsole(`${ctx.root}/.console-exec-${id}-${Deno.pid}.sock`);
  }
  try {
    const init = await execInContainer(ctx, {
      id,
      process,
      consoleSocket: flags["console-socket"] ?? ownConsole?.path,
      pidFile: flags["pid-file"],
      preserveFds: preserveFds(flags["preserve-fds"]),
      ignorePaused: flags["ignore-paused"],
    });
    if (flags.detach) return 0;
    const unrelay = relaySignals(init.pid);
    let proxy: TerminalProxy | undefined;
    try {
      if (ownConsole) proxy = proxyTerminal(await ownConsole.master);
      const status = await init.child.status;
      if (proxy) await Promise.race([proxy.done, new Promise((r) => setTimeout(r, 1000))]);
      return exitCode(status);
    } finally {
      proxy?.stop();
      unrelay();
    }
  } finally {
    ownConsole?.cleanup();
  }
};
export default exec;

function buildProcess(
  root: string,
  id: string,
  argv: string[],
  flags: ReturnType<typeof parseFlags<typeof FLAGS>>["flags"],
): Process {
  let p: Process;
  if (flags.process) {
    try {
      p = JSON.parse(
        flags.process === "-"
          ? new TextDecoder().decode(readAllStdin())
          : Deno.readTextFileSync(flags.process),
      );
    } catch (e) {
      throw new Error(`--process ${flags.process}: ${(e as Error).message}`);
    }
  } else {
    if (argv.length === 0) throw new UsageError(`"exec" needs a command, or --process`);
    const base = loadRecord(root, id).config.process!;
    p = structuredClone(base);
    p.args = argv;
    p.terminal = false;
    delete p.consoleSize;
  }
  if (flags.tty) p.terminal = true;
  if (flags.cwd) p.cwd = flags.cwd;
  if (flags.env) p.env = mergeEnv(p.env ?? [], flags.env);
  if (flags["no-new-privs"]) p.noNewPrivileges = true;
  if (flags.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(flags.user);
    if (!m) throw new UsageError(`--user: want UID[:GID] (numbers), got "${flags.user}"`);
    p.user = { ...p.user, uid: Number(m[1]), gid: m[2] ? Number(m[2]) : 0 };
  }
  if (flags["additional-gids"]) {
    p.user = { ...p.user, additionalGids: flags["additional-gids"].map(Number) };
  }
  if (flags.cap) {
    const caps = p.capabilities ??= {};
    for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...flags.cap])];
    }
  }
  return p;
}

function readAllStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** `--env` entries replace variables of the same name and add the others. */
function mergeEnv(base: string[], extra: string[]): string[] {
  const name = (kv: string) => kv.split("=", 1)[0];
  const names = new Set(extra.map(name));
  return [...base.filter((kv) => !names.has(name(kv))), ...extra];
}

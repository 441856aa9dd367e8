/**
 * How berth finds its role and how it starts itself again in another role.
 *
 * berth runs in two modes: as a `deno compile` binary (argv[0] is the binary
 * or a symlink to it) or as `deno run [flags] main.ts ...`. Both are told
 * apart by /proc/self/cmdline: a compiled binary has exactly one element
 * before the user's arguments, `deno run` has at least two (deno, main.ts).
 */

/** The public roles, in the order of the README's table. */
export const ROLES = ["docker", "dockerd", "containerd", "shim", "runc"] as const;
/** Roles that only berth itself starts. */
const HIDDEN_ROLES = ["init"] as const;

export type Role = typeof ROLES[number] | typeof HIDDEN_ROLES[number];

function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name) ||
    (HIDDEN_ROLES as readonly string[]).includes(name);
}

let cachedCmdline: string[] | undefined;

/** argv of this process as the kernel sees it (not as Deno rewrites it). */
export function procCmdline(): string[] {
  if (!cachedCmdline) {
    const raw = Deno.readTextFileSync("/proc/self/cmdline");
    cachedCmdline = raw.split("\0");
    if (cachedCmdline.at(-1) === "") cachedCmdline.pop();
  }
  return cachedCmdline;
}

/** The part of the command line that starts this program, before its own arguments. */
function launcherPrefix(): string[] {
  const cmdline = procCmdline();
  return cmdline.slice(0, cmdline.length - Deno.args.length);
}

/** True for a `deno compile` binary, false under `deno run main.ts`. */
export function isCompiled(): boolean {
  return launcherPrefix().length === 1;
}

function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}

/** Picks the role from argv[0]'s basename, else from the first argument. */
export function roleFromInvocation(): { role: Role; args: string[] } | undefined {
  const argv0 = basename(procCmdline()[0] ?? "");
  if (isCompiled() && isRole(argv0)) return { role: argv0, args: Deno.args };
  const [first, ...rest] = Deno.args;
  if (first !== undefined && isRole(first)) return { role: first, args: rest };
  return undefined;
}

export function usage(): string {
  return [
    "usage: berth ROLE [ARGS...]   (or call the binary through a symlink named after the role)",
    "",
    "roles:",
    "  docker       the Docker command-line client",
    "  dockerd      the Docker Engine API daemon",
    "  containerd   the container supervisor (gRPC API)",
    "  shim         the per-container parent process",
    "  runc         the OCI runtime",
  ].join("\n");
}

/**
 * The command line that runs this same program in `role` with `args`:
 * the compiled binary with the role as its first argument, or deno with the
 * flags this process was started with and the absolute path of main.ts.
 */
export function selfCommand(role: Role, args: string[] = []): { command: string; args: string[] } {
  const exe = Deno.execPath();
  if (isCompiled()) return { command: exe, args: [role, ...args] };
  // Keep the flags of a `deno run` launch; from anything else (`deno test`
  // importing this module) start berth with plain `deno run -A`.
  const launched = launcherPrefix();
  const prefix = launched[1] === "run" ? launched.slice(1, -1) : ["run", "-A"];
  // Always berth's own entry point, never Deno.mainModule: a test or tool that
  // imports this module from its own script must not start itself again.
  const mainPath = new URL("../main.ts", import.meta.url).pathname;
  return { command: exe, args: [...prefix, mainPath, role, ...args] };
}

/**
 * berth: one program, five roles. The role is the basename of argv[0] (so a
 * compiled binary reached through a `runc` or `dockerd` symlink acts as that
 * tool) or, when argv[0] is not a role name (`deno`, `berth`), the first
 * argument. Each role is loaded with a dynamic import so that a role only
 * compiles and runs its own module graph.
 */
import { type Role, roleFromInvocation, ROLES, usage } from "./runtime/self_exec.ts";

// Processes berth starts (its init inside containers above all) must not
// look for Deno updates over the network.
Deno.env.set("DENO_NO_UPDATE_CHECK", "1");

const picked = roleFromInvocation();
if (!picked) {
  console.error(usage());
  Deno.exit(2);
}

const { role, args } = picked;

/**
 * Each role's entry module. The specifiers are computed rather than literal
 * imports: `deno run` walks every module graph it can see at start-up,
 * dynamic literal imports included, so a literal list would make the runtime
 * (started several times per container) load the daemons' npm graphs too.
 * `deno task compile` includes these modules explicitly.
 */
const ROLE_MODULES: Record<Role, string> = {
  docker: "./cli/main.ts",
  dockerd: "./daemon/main.ts",
  containerd: "./daemon/containerd/main.ts",
  shim: "./shim/main.ts",
  runc: "./runtime/main.ts",
  // Hidden: the process that becomes a container's init or an exec'd process.
  init: "./runtime/container/init.ts",
};

interface RoleModule {
  main(args: string[]): Promise<number>;
}

const url = new URL(ROLE_MODULES[role], import.meta.url).href;
let mod: RoleModule;
try {
  mod = await import(url);
} catch (e) {
  // Only the role's own entry module missing means "not implemented".
  if (!String(e).includes(`${url}"`) && !String(e).includes(`${url}'`)) throw e;
  console.error(`berth: the ${role} role is not implemented yet (roles: ${ROLES.join(", ")})`);
  Deno.exit(2);
}
Deno.exit(await mod.main(args));

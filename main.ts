/**
 * berth: one program, five roles. The role is the basename of argv[0] (so a
 * compiled binary reached through a `runc` or `dockerd` symlink acts as that
 * tool) or, when argv[0] is not a role name (`deno`, `berth`), the first
 * argument. Each role is loaded with a dynamic import so that a role only
 * compiles and runs its own module graph.
 */
import { roleFromInvocation, ROLES, usage } from "./runtime/self_exec.ts";

// Processes berth starts (its init inside containers above all) must not
// look for Deno updates over the network.
Deno.env.set("DENO_NO_UPDATE_CHECK", "1");

const picked = roleFromInvocation();
if (!picked) {
  console.error(usage());
  Deno.exit(2);
}

const { role, args } = picked;
let code: number;
switch (role) {
  case "runc":
    code = await (await import("./runtime/main.ts")).main(args);
    break;
  case "dockerd":
    code = await (await import("./daemon/main.ts")).main(args);
    break;
  case "init":
    // Hidden role: the process that becomes a container's init or an exec'd
    // process. It is started by the runtime only.
    code = await (await import("./runtime/container/init.ts")).main(args);
    break;
  default:
    console.error(
      `berth: the ${role} role is not implemented yet (roles: ${ROLES.join(", ")})`,
    );
    code = 2;
}
Deno.exit(code);

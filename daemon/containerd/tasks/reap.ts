/**
 * When a shim is gone (killed, crashed) its containers have no parent left
 * to report them. containerd then cleans up through the runtime itself, as
 * containerd's shim manager does on a failed connect: kill everything in
 * the container, delete it (which removes its cgroups), unmount the rootfs,
 * and take the exit from the shim's durable exit file if it wrote one, else
 * 137 (SIGKILL).
 */
import { pidAlive } from "../../../runtime/linux/proc.ts";
import { selfCommand } from "../../../runtime/self_exec.ts";
import { CONTAINER_FILES, type ExitRecord, INIT } from "../../../shim/api.ts";
import { unmountBelow } from "./bundle.ts";
import { nowRfc3339 } from "./time.ts";

/** Runs the runtime (this program's runc role) with `--root`; returns success. */
export async function runtime(root: string, args: string[]): Promise<boolean> {
  const cmd = selfCommand("runc", ["--root", root, ...args]);
  const out = await new Deno.Command(cmd.command, {
    args: cmd.args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  return out?.success ?? false;
}

/** The exit the shim recorded durably for a process, if any. */
export function exitFile(bundle: string, execId: string): ExitRecord | undefined {
  const name = execId === INIT ? "init" : execId;
  try {
    const rec = JSON.parse(
      Deno.readTextFileSync(`${bundle}/${CONTAINER_FILES.exits}/${name}.json`),
    ) as ExitRecord;
    return typeof rec.status === "number" ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** Kills and deletes a container whose shim is gone; returns the init's exit. */
export async function reapContainer(
  runtimeRoot: string,
  id: string,
  bundle: string,
  pid: number,
): Promise<ExitRecord> {
  const recorded = exitFile(bundle, INIT);
  await runtime(runtimeRoot, ["kill", "--all", id, "KILL"]);
  await runtime(runtimeRoot, ["delete", "--force", id]);
  await unmountBelow(`${bundle}/rootfs`);
  return recorded ?? { pid, status: 137, exitedAt: nowRfc3339() };
}

export { pidAlive };

/**
 * Live processes serving shim directory `dir` (`... shim --dir DIR ...`),
 * found by their command line: a shim that is still starting has not
 * written its pid file yet.
 */
export function shimProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("--dir");
    if (i > 0 && argv[i + 1] === dir && argv.includes("shim") && pidAlive(Number(e.name))) {
      found.push(Number(e.name));
    }
  }
  return found;
}

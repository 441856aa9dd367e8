import type { Command } from "../context.ts";
import { parseFlags, UsageError } from "../args.ts";
import { openContainer } from "../container/container.ts";

/** `ps [--format table|json] ID [ps args]`: the host's ps, filtered to the container's pids. */
const ps: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, { format: { type: "string", short: "f" } }, {
    stopAtFirstPositional: true,
  });
  const [id, ...psArgs] = positionals;
  if (!id) throw new UsageError(`"ps" requires at least 1 argument (the container id)`);
  const c = openContainer(ctx, id);
  const pids = c.status() === "stopped" ? [] : (await c.cgroup()).pids();
  const format = flags.format ?? "table";
  if (format === "json") {
    console.log(JSON.stringify(pids));
    return 0;
  }
  if (format !== "table") throw new UsageError(`invalid format option "${format}"`);
  const out = await new Deno.Command("ps", {
    args: psArgs.length ? psArgs : ["-ef"],
    stdout: "piped",
    stderr: "inherit",
  })
    .output();
  if (!out.success) throw new Error(`ps ${psArgs.join(" ")} failed`);
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
  const header = lines.shift() ?? "";
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new Error(`no PID column in the output of ps ${psArgs.join(" ")}`);
  const wanted = new Set(pids.map(String));
  console.log([header, ...lines.filter((l) => wanted.has(l.trim().split(/\s+/)[col]))].join("\n"));
  return 0;
};
export default ps;

import type { Command } from "../context.ts";
import { parseFlags, UsageError } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { statsJSON } from "../cgroups/mod.ts";
import { oneId } from "./common.ts";

/** `events [--stats] [--interval 5s] ID`: stats once, or every interval until the container stops. */
const events: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, {
    stats: { type: "boolean" },
    interval: { type: "string" },
  });
  const id = oneId(positionals, "events");
  const c = openContainer(ctx, id);
  const cgroup = await c.cgroup();
  const intervalMs = parseDuration(flags.interval ?? "5s");
  const emit = () => {
    if (c.status() === "stopped") throw new Error("container not running");
    console.log(statsJSON({ type: "stats", id, data: cgroup.stats() }));
  };
  emit();
  if (flags.stats) return 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    if (c.status() === "stopped") return 0;
    emit();
  }
};
export default events;

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new UsageError(`--interval: invalid duration "${s}" (e.g. 5s, 500ms)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new UsageError("--interval must be positive");
  return ms;
}

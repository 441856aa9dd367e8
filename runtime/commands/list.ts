import type { Command } from "../context.ts";
import { parseFlags, UsageError } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { listIds, ociState } from "../container/state.ts";

/** Columns padded like Go's tabwriter (min width 12, padding 3). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(Math.max(12, widths[i] + 3))).join(
      "",
    )
  ).join("\n");
}

const list: Command = (ctx, args) => {
  const { flags } = parseFlags(args, {
    format: { type: "string", short: "f" },
    quiet: { type: "boolean", short: "q" },
  });
  const format = flags.format ?? "table";
  if (format !== "table" && format !== "json") {
    throw new UsageError(`invalid format option "${format}"`);
  }
  const items = [];
  for (const id of listIds(ctx.root)) {
    try {
      const c = openContainer(ctx, id);
      const s = ociState(c.rec, c.status());
      items.push({
        ociVersion: s.ociVersion,
        id,
        pid: s.pid ?? 0,
        status: s.status,
        bundle: c.rec.bundle,
        rootfs: c.rec.rootfs,
        created: c.rec.created,
        owner: c.rec.owner,
      });
    } catch { /* deleted while listing */ }
  }
  if (flags.quiet) {
    for (const i of items) console.log(i.id);
  } else if (format === "json") {
    console.log(JSON.stringify(items));
  } else {
    console.log(table([
      ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
      ...items.map((i) => [i.id, String(i.pid), i.status, i.bundle, i.created, i.owner]),
    ]));
  }
  return Promise.resolve(0);
};
export default list;

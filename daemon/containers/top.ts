/**
 * `docker top`: the host's `ps` (with the caller's ps options, default
 * `-ef`), keeping the rows of the container's processes, as dockerd does.
 */
import type { Engine } from "../engine.ts";
import { ApiError, badRequest } from "../api/errors.ts";

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

export async function topOf(engine: Engine, id: string, psArgs: string): Promise<TopResult> {
  const { processes } = await engine.containerd.call<{ processes: { pid: number }[] }>(
    "tasks",
    "ListPids",
    { container_id: id },
  );
  const pids = new Set(processes.map((p) => p.pid));
  const args = (psArgs || "-ef").split(/\s+/).filter(Boolean);
  if (args.some((a) => !/^[-\w,=:]+$/.test(a))) throw badRequest(`invalid ps options: ${psArgs}`);
  const out = await new Deno.Command("ps", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new ApiError(
      500,
      `Error running ps: exit status ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return parsePs(new TextDecoder().decode(out.stdout), pids);
}

/** The header gives the columns; the last column (the command) keeps its spaces. */
export function parsePs(text: string, pids: Set<number>): TopResult {
  const lines = text.split("\n").filter((l) => l.trim());
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidCol = titles.indexOf("PID");
  if (pidCol < 0) throw badRequest(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(" ")];
    if (pids.has(Number(row[pidCol]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

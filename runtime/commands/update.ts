import type { Command } from "../context.ts";
import type { Resources } from "../spec/types.ts";
import { parseFlags, UsageError } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { saveRecord } from "../container/state.ts";
import { oneId } from "./common.ts";

const FLAGS = {
  resources: { type: "string", short: "r" },
  "blkio-weight": { type: "string" },
  "cpu-period": { type: "string" },
  "cpu-quota": { type: "string" },
  "cpu-share": { type: "string" },
  "cpu-rt-period": { type: "string" },
  "cpu-rt-runtime": { type: "string" },
  "cpuset-cpus": { type: "string" },
  "cpuset-mems": { type: "string" },
  memory: { type: "string" },
  "memory-reservation": { type: "string" },
  "memory-swap": { type: "string" },
  "pids-limit": { type: "string" },
  "l3-cache-schema": { type: "string" },
  "mem-bw-schema": { type: "string" },
} as const;

/** `update`: new resource limits for a running container, from flags or a JSON document. */
const update: Command = async (ctx, args) => {
  const { flags, positionals } = parseFlags(args, FLAGS);
  const id = oneId(positionals, "update");
  const c = openContainer(ctx, id);
  if (c.status() === "stopped") throw new Error("container not running");
  if (flags["l3-cache-schema"] || flags["mem-bw-schema"]) {
    throw new Error("Intel RDT is not supported by berth");
  }
  const r: Resources = structuredClone(c.rec.config.linux?.resources ?? {});
  if (flags.resources) {
    const text = flags.resources === "-"
      ? await new Response(Deno.stdin.readable).text()
      : Deno.readTextFileSync(flags.resources);
    let doc: Resources;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`--resources: invalid JSON: ${(e as Error).message}`);
    }
    for (const [k, v] of Object.entries(doc)) {
      const cur = (r as Record<string, unknown>)[k];
      (r as Record<string, unknown>)[k] =
        typeof v === "object" && !Array.isArray(v) && v !== null && typeof cur === "object"
          ? { ...cur, ...v }
          : v;
    }
  }
  const num = (name: keyof typeof FLAGS) => {
    const v = flags[name];
    if (v === undefined) return undefined;
    const n = parseSize(v);
    if (n === undefined) throw new UsageError(`--${name}: invalid value "${v}"`);
    return n;
  };
  const set = <T extends object>(obj: T, key: keyof T, value: number | string | undefined) => {
    if (value !== undefined) (obj as Record<string, unknown>)[key as string] = value;
  };
  const mem = r.memory ??= {}, cpu = r.cpu ??= {};
  set(mem, "limit", num("memory"));
  set(mem, "reservation", num("memory-reservation"));
  set(mem, "swap", num("memory-swap"));
  set(cpu, "period", num("cpu-period"));
  set(cpu, "quota", num("cpu-quota"));
  set(cpu, "shares", num("cpu-share"));
  set(cpu, "realtimePeriod", num("cpu-rt-period"));
  set(cpu, "realtimeRuntime", num("cpu-rt-runtime"));
  set(cpu, "cpus", flags["cpuset-cpus"]);
  set(cpu, "mems", flags["cpuset-mems"]);
  const pids = num("pids-limit");
  if (pids !== undefined) r.pids = { limit: pids };
  const weight = num("blkio-weight");
  if (weight !== undefined) r.blockIO = { ...r.blockIO, weight };
  (await c.cgroup()).set(r, { devices: c.rec.config.linux?.devices });
  c.rec.config.linux = { ...c.rec.config.linux, resources: r };
  saveRecord(ctx.root, c.rec);
  return 0;
};
export default update;

/** Numbers with optional k/m/g suffixes, as runc's update accepts; -1 is "unlimited". */
function parseSize(v: string): number | undefined {
  const m = /^(-?\d+)([kKmMgG]?)[bB]?$/.exec(v.trim());
  if (!m) return undefined;
  const mult =
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * mult;
}

/**
 * `docker stats`: GET /containers/{id}/stats per container (streamed, or one
 * sample with --no-stream), CPU %, memory without the page cache, network
 * and block I/O and pids computed as the Docker CLI does; redrawn every
 * half second while streaming.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { FORMAT_TABLE } from "../opts.ts";
import { parseFormat, renderRows } from "../format.ts";
import { truncateId } from "../display.ts";
import { bytesSize, humanSize } from "../units.ts";
import { ConnectError, StatusError } from "../errors.ts";
import type { ContainerSummary } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] [CONTAINER...]",
  short: "Display a live stream of container(s) resource usage statistics",
  aliases: ["docker container stats", "docker stats"],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Show all containers (default shows just running)",
    },
    FORMAT_TABLE,
    {
      name: "no-stream",
      type: "bool",
      usage: "Disable streaming stats and only pull the first result",
    },
    { name: "no-trunc", type: "bool", usage: "Do not truncate output" },
  ],
  args: { min: 0 },
};

const DEFAULT_TABLE =
  "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

const HEADER = {
  Container: "CONTAINER",
  ID: "CONTAINER ID",
  Name: "NAME",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

/** The parts of GET /containers/{id}/stats this command reads. */
export interface StatsJson {
  id?: string;
  name?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: StatsJson["cpu_stats"];
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

/** One container's figures (formatter.StatsEntry). */
export interface Entry {
  container: string;
  name: string;
  id: string;
  cpu: number;
  mem: number;
  memLimit: number;
  memPerc: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
  invalid: boolean;
}

/** The figures of one stats sample (collect() in the CLI). */
export function entryFrom(container: string, s: StatsJson): Entry {
  const cpuNow = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
  const cpuPrev = s.precpu_stats?.cpu_usage?.total_usage ?? 0;
  const sysNow = s.cpu_stats?.system_cpu_usage ?? 0;
  const sysPrev = s.precpu_stats?.system_cpu_usage ?? 0;
  let online = s.cpu_stats?.online_cpus ?? 0;
  if (!online) online = s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 0;
  const cpuDelta = cpuNow - cpuPrev, sysDelta = sysNow - sysPrev;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? cpuDelta / sysDelta * online * 100 : 0;
  const m = s.memory_stats ?? {};
  const usage = m.usage ?? 0;
  const st = m.stats ?? {};
  let mem = usage;
  if ("total_inactive_file" in st && st.total_inactive_file < usage) {
    mem = usage - st.total_inactive_file;
  } else if ((st.inactive_file ?? 0) < usage) mem = usage - (st.inactive_file ?? 0);
  const limit = m.limit ?? 0;
  let rx = 0, tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let read = 0, write = 0;
  for (const b of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = b.op?.[0]?.toLowerCase();
    if (op === "r") read += b.value;
    else if (op === "w") write += b.value;
  }
  return {
    container,
    name: (s.name ?? "").replace(/^\//, ""),
    id: s.id ?? "",
    cpu,
    mem,
    memLimit: limit,
    memPerc: limit ? mem / limit * 100 : 0,
    netRx: rx,
    netTx: tx,
    blockRead: read,
    blockWrite: write,
    pids: s.pids_stats?.current ?? 0,
    invalid: false,
  };
}

/** A row of the table (formatter.statsContext). */
class StatsContext {
  readonly goType = "*formatter.statsContext";
  constructor(private e: Entry, private trunc: boolean) {}
  Container(): string {
    return this.e.container;
  }
  Name(): string {
    return this.e.name || "--";
  }
  ID(): string {
    return this.trunc ? truncateId(this.e.id) : this.e.id;
  }
  CPUPerc(): string {
    return this.e.invalid ? "--" : `${this.e.cpu.toFixed(2)}%`;
  }
  MemUsage(): string {
    return this.e.invalid ? "-- / --" : `${bytesSize(this.e.mem)} / ${bytesSize(this.e.memLimit)}`;
  }
  MemPerc(): string {
    return this.e.invalid ? "--" : `${this.e.memPerc.toFixed(2)}%`;
  }
  NetIO(): string {
    return this.e.invalid ? "--" : `${humanSize(this.e.netRx, 3)} / ${humanSize(this.e.netTx, 3)}`;
  }
  BlockIO(): string {
    return this.e.invalid
      ? "--"
      : `${humanSize(this.e.blockRead, 3)} / ${humanSize(this.e.blockWrite, 3)}`;
  }
  PIDs(): string {
    return this.e.invalid ? "--" : String(this.e.pids);
  }
  toJSON() {
    return {
      BlockIO: this.BlockIO(),
      CPUPerc: this.CPUPerc(),
      Container: this.Container(),
      ID: this.ID(),
      MemPerc: this.MemPerc(),
      MemUsage: this.MemUsage(),
      Name: this.Name(),
      NetIO: this.NetIO(),
      PIDs: this.PIDs(),
    };
  }
}

function invalid(container: string): Entry {
  return {
    container,
    name: "",
    id: container,
    cpu: 0,
    mem: 0,
    memLimit: 0,
    memPerc: 0,
    netRx: 0,
    netTx: 0,
    blockRead: 0,
    blockWrite: 0,
    pids: 0,
    invalid: true,
  };
}

/**
 * One redraw, byte for byte as the CLI writes it: cursor home and the table,
 * then (the CLI appends to the same buffer) every line again with an
 * erase-to-end-of-line, and an erase of the rest of the screen.
 */
export function frame(table: string): string {
  let buf = "\x1b[H" + table;
  for (const line of buf.split("\n")) buf += `${line} \x1b[K\n`;
  return buf + "\x1b[J";
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  let format = v.format as string;
  if (!format) {
    try {
      format = cli.config.load().statsFormat ?? "";
    } catch { /* no config */ }
  }
  const fmt = parseFormat(format, DEFAULT_TABLE);
  const client = cli.client;
  const stream = !v["no-stream"];
  const trunc = !v["no-trunc"];
  let names = opts.args;
  const showAll = !names.length;
  let events: Promise<unknown> | undefined;
  if (showAll) {
    // Like the CLI, listen for containers that start or go while showing all of them.
    await client.negotiate();
    const { promise: sent, resolve: onSent } = Promise.withResolvers<void>();
    events = client.request("GET", "/events", {
      query: { filters: JSON.stringify({ type: { container: true } }) },
      onSent,
    }).then((r) => r.close()).catch(() => {});
    await Promise.race([sent, events]);
    const list = await client.json<ContainerSummary[]>("GET", "/containers/json", {
      query: { all: v.all ? "1" : undefined },
    });
    names = list.map((c) => truncateId(c.Id));
  }
  void events;
  const entries = new Map<string, Entry>();
  const errors: string[] = [];
  const watch = async (name: string) => {
    try {
      const res = await client.request("GET", `/containers/${encodeURIComponent(name)}/stats`, {
        query: { stream: stream ? "1" : "0" },
      });
      for await (const line of res.lines()) {
        entries.set(name, entryFrom(name, JSON.parse(line)));
        if (!stream) break;
      }
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      if (showAll) return;
      entries.set(name, invalid(name));
      errors.push((e as Error).message);
    }
  };
  const render = () => {
    const rows = names.filter((n) => entries.has(n)).map((n) =>
      new StatsContext(entries.get(n)!, trunc)
    );
    return renderRows(fmt, rows, HEADER);
  };
  if (!stream) {
    await Promise.all(names.map(watch));
    if (errors.length) throw new StatusError(errors.join("\n"), 1);
    cli.out(render());
    return 0;
  }
  const watchers = names.map(watch);
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    cli.out(frame(render()));
    if (!showAll && names.every((n) => entries.get(n)?.invalid)) {
      await Promise.allSettled(watchers);
      throw new StatusError(errors.join("\n"), 1);
    }
  }
}

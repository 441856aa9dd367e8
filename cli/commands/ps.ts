/**
 * `docker ps`: GET /containers/json, shown through the CLI's container
 * format context (formatter.ContainerContext): truncated ids and commands,
 * "About a minute ago", ports, sizes; --format / psFormat; -q.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { FILTER, filtersJson, FORMAT_TABLE } from "../opts.ts";
import { checkTemplate, parseFormat, renderRows } from "../format.ts";
import { displayablePorts, ellipsis, goTimeString, truncateId } from "../display.ts";
import { humanDuration, humanSize } from "../units.ts";
import type { ContainerSummary } from "../../daemon/api/types.ts";
import { familiarString, parseNormalized } from "../../daemon/images/reference.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "List containers",
  aliases: [
    "docker container ls",
    "docker container list",
    "docker container ps",
    "docker ps",
  ],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Show all containers (default shows just running)",
    },
    FILTER,
    FORMAT_TABLE,
    {
      name: "last",
      short: "n",
      type: "int",
      usage: "Show n last created containers (includes all states)",
      default: -1,
    },
    {
      name: "latest",
      short: "l",
      type: "bool",
      usage: "Show the latest created container (includes all states)",
    },
    { name: "no-trunc", type: "bool", usage: "Don't truncate output" },
    { name: "quiet", short: "q", type: "bool", usage: "Only display container IDs" },
    { name: "size", short: "s", type: "bool", usage: "Display total file sizes" },
  ],
  args: { exact: 0 },
};

const DEFAULT_TABLE =
  "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

export const HEADER = {
  ID: "CONTAINER ID",
  Names: "NAMES",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  LocalVolumes: "LOCAL VOLUMES",
  Networks: "NETWORKS",
  Platform: "PLATFORM",
  Label: (name: string) => {
    const n = name.split(".");
    return n[n.length - 1].replace(/[-_]/g, " ");
  },
};

/** One row of `docker ps` (formatter.ContainerContext). */
export class ContainerContext {
  readonly goType = "*formatter.ContainerContext";
  constructor(private c: ContainerSummary & { Platform?: unknown }, private trunc: boolean) {}

  ID(): string {
    return this.trunc ? truncateId(this.c.Id) : this.c.Id;
  }

  Names(): string {
    let names = (this.c.Names ?? []).map((n) => n.replace(/^\//, ""));
    if (this.trunc) {
      const plain = names.find((n) => n.split("/").length === 1);
      if (plain !== undefined) names = [plain];
    }
    return names.join(",");
  }

  Image(): string {
    const img = this.c.Image;
    if (!img) return "<no image>";
    if (this.trunc) {
      const t = truncateId(this.c.ImageID ?? "");
      if (t === truncateId(img)) return t;
      try {
        const ref = parseNormalized(img);
        return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
      } catch { /* not a reference */ }
    }
    return img;
  }

  Command(): string {
    const cmd = this.trunc ? ellipsis(this.c.Command ?? "", 20) : this.c.Command ?? "";
    return JSON.stringify(cmd);
  }

  CreatedAt(): string {
    return goTimeString(this.c.Created * 1000);
  }

  RunningFor(): string {
    return humanDuration(Date.now() - this.c.Created * 1000) + " ago";
  }

  Ports(): string {
    return displayablePorts(this.c.Ports as never);
  }

  State(): string {
    return this.c.State;
  }

  Status(): string {
    return this.c.Status;
  }

  /** Set once a template has shown .Size. */
  sizeUsed = false;

  Size(): string {
    this.sizeUsed = true;
    const rw = humanSize(this.c.SizeRw ?? 0, 3);
    const root = humanSize(this.c.SizeRootFs ?? 0, 3);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${root})` : rw;
  }

  Labels(): string {
    return Object.entries(this.c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(",");
  }

  Label(name: string): string {
    return (this.c.Labels ?? {})[name] ?? "";
  }

  Mounts(): string {
    return (this.c.Mounts ?? []).map((m) => {
      const name = m.Name || m.Source;
      return this.trunc ? ellipsis(name, 15) : name;
    }).join(",");
  }

  LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === "local").length);
  }

  Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {}).sort().join(",");
  }

  Platform(): unknown {
    return this.c.Platform ?? null;
  }

  toString(): string {
    return `&{${this.c.Id} ${this.trunc}}`;
  }

  /** `{{json .}}`: every field by name, sorted (the context's MarshalJSON). */
  toJSON(): Record<string, unknown> {
    const sizeUsed = this.sizeUsed;
    const out = {
      Command: this.Command(),
      CreatedAt: this.CreatedAt(),
      ID: this.ID(),
      Image: this.Image(),
      Labels: this.Labels(),
      LocalVolumes: this.LocalVolumes(),
      Mounts: this.Mounts(),
      Names: this.Names(),
      Networks: this.Networks(),
      Platform: this.Platform(),
      Ports: this.Ports(),
      RunningFor: this.RunningFor(),
      Size: this.Size(),
      State: this.State(),
      Status: this.Status(),
    };
    this.sizeUsed = sizeUsed;
    return out;
  }
}

const EMPTY: ContainerSummary = {
  Id: "",
  Names: [],
  Image: "",
  ImageID: "",
  Command: "",
  Created: 0,
  Ports: [],
  Labels: {},
  State: "created",
  Status: "",
  HostConfig: { NetworkMode: "" },
  NetworkSettings: { Networks: {} },
  Mounts: [],
};

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  let format = v.format as string;
  if (!format && !v.quiet) {
    try {
      format = cli.config.load().psFormat ?? "";
    } catch { /* no config */ }
  }
  // The CLI runs a --format once on an empty row before asking the daemon: template
  // errors come first, and a template that shows .Size asks for sizes.
  let wantsSize = v.size as boolean;
  if (v.format) {
    const probe = new ContainerContext(EMPTY, true);
    checkTemplate(v.format as string, probe);
    if (!v.quiet && !opts.changed.has("size")) wantsSize = probe.sizeUsed;
  }
  if (v.quiet && (format === "" || format === "table")) format = "{{.ID}}";
  const fmt = parseFormat(format, v.size ? DEFAULT_TABLE + "\t{{.Size}}" : DEFAULT_TABLE);
  let limit = v.last as number;
  if (v.latest && limit === -1) limit = 1;
  const list = await cli.client.json<ContainerSummary[]>("GET", "/containers/json", {
    query: {
      all: v.all ? "1" : undefined,
      limit: limit !== -1 ? String(limit) : undefined,
      size: wantsSize ? "1" : undefined,
      filters: filtersJson(v.filter as string[]),
    },
  });
  const trunc = !v["no-trunc"];
  cli.out(renderRows(fmt, list.map((c) => new ContainerContext(c, trunc)), HEADER));
  return 0;
}

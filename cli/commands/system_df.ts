/**
 * `docker system df`: GET /system/df summarized per type (images, containers,
 * local volumes, build cache) with what could be reclaimed; -v lists each.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { FORMAT_TABLE } from "../opts.ts";
import { parseFormat, renderRows } from "../format.ts";
import { humanDuration, humanSize } from "../units.ts";
import { truncateId } from "../display.ts";
import { ContainerContext, HEADER as PS_HEADER } from "./ps.ts";
import { ImageContext, imageRows, type ImageSummary } from "./images.ts";
import type { ContainerSummary } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Show docker disk usage",
  flags: [
    FORMAT_TABLE,
    {
      name: "verbose",
      short: "v",
      type: "bool",
      usage: "Show detailed information on space usage",
    },
  ],
  args: { exact: 0 },
};

interface Volume {
  Name: string;
  Driver?: string;
  Mountpoint?: string;
  Labels?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

interface BuildCache {
  ID: string;
  Type?: string;
  Size: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
  InUse?: boolean;
  Shared?: boolean;
}

interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: Volume[] | null;
  BuildCache?: BuildCache[] | null;
}

const pct = (part: number, total: number) =>
  total > 0 ? `${humanSize(part)} (${Math.trunc(part * 100 / total)}%)` : humanSize(part);

/** One summary row (formatter.diskUsage*Context). */
class UsageRow {
  readonly goType = "*formatter.diskUsageContext";
  constructor(
    private type: string,
    private total: number,
    private active: number,
    private size: string,
    private reclaimable: string,
  ) {}
  Type(): string {
    return this.type;
  }
  TotalCount(): string {
    return String(this.total);
  }
  Active(): string {
    return String(this.active);
  }
  Size(): string {
    return this.size;
  }
  Reclaimable(): string {
    return this.reclaimable;
  }
  toJSON() {
    return {
      Active: this.Active(),
      Reclaimable: this.Reclaimable(),
      Size: this.Size(),
      TotalCount: this.TotalCount(),
      Type: this.Type(),
    };
  }
}

const isActive = (c: ContainerSummary) => /running|paused|restarting/.test(c.State);

function summary(du: DiskUsage): UsageRow[] {
  const images = du.Images ?? [];
  const layers = du.LayersSize ?? 0;
  let used = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) !== 0 && i.Size !== -1 && i.SharedSize !== -1) {
      used += i.Size - (i.SharedSize ?? 0);
    }
  }
  const containers = du.Containers ?? [];
  const cSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const cFree = containers.filter((c) => !isActive(c)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = du.Volumes ?? [];
  const vSize = volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const vFree = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0)
    .reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const cache = du.BuildCache ?? [];
  const bSize = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  const bFree = cache.filter((b) => !b.Shared && !b.InUse).reduce((n, b) => n + b.Size, 0);
  return [
    new UsageRow(
      "Images",
      images.length,
      images.filter((i) => (i.Containers ?? 0) > 0).length,
      humanSize(layers),
      pct(layers - used, layers),
    ),
    new UsageRow(
      "Containers",
      containers.length,
      containers.filter(isActive).length,
      humanSize(cSize),
      pct(cFree, cSize),
    ),
    new UsageRow(
      "Local Volumes",
      volumes.length,
      volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length,
      humanSize(vSize),
      pct(vFree, vSize),
    ),
    new UsageRow(
      "Build Cache",
      cache.length,
      cache.filter((b) => b.InUse).length,
      humanSize(bSize),
      humanSize(bFree),
    ),
  ];
}

/** The verbose listing's container rows show the writable layer only. */
class DfContainer extends ContainerContext {
  constructor(private s: ContainerSummary) {
    super(s, true);
  }
  override Size(): string {
    return humanSize(this.s.SizeRw ?? 0, 3);
  }
}

class DfImage extends ImageContext {
  override SharedSize(): string {
    return humanSize(this.summary.SharedSize === -1 ? 0 : this.summary.SharedSize ?? 0);
  }
  override UniqueSize(): string {
    return humanSize(this.summary.Size - Math.max(0, this.summary.SharedSize ?? 0));
  }
}

function verbose(cli: Cli, du: DiskUsage): void {
  const imgFmt = parseFormat(
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
    "",
  );
  const rows = imageRows(du.Images ?? [], { digests: false, digestsForTags: false, trunc: true })
    .map((r) => new DfImage(r.summary, r.repo, r.tag, r.digest, true));
  cli.out("Images space usage:\n\n");
  cli.out(renderRows(imgFmt, rows, {
    Repository: "REPOSITORY",
    Tag: "TAG",
    ID: "IMAGE ID",
    CreatedSince: "CREATED",
    Size: "SIZE",
    SharedSize: "SHARED SIZE",
    UniqueSize: "UNIQUE SIZE",
    Containers: "CONTAINERS",
  }));
  cli.out("\nContainers space usage:\n\n");
  const cFmt = parseFormat(
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
    "",
  );
  cli.out(renderRows(cFmt, (du.Containers ?? []).map((c) => new DfContainer(c)), PS_HEADER));
  cli.out("\nLocal Volumes space usage:\n\n");
  const vFmt = parseFormat("table {{.Name}}\t{{.Links}}\t{{.Size}}", "");
  cli.out(renderRows(
    vFmt,
    (du.Volumes ?? []).map((v) => ({
      goType: "*formatter.volumeContext",
      Name: () => v.Name,
      Links: () => String(v.UsageData?.RefCount ?? "N/A"),
      Size: () => v.UsageData && v.UsageData.Size !== -1 ? humanSize(v.UsageData.Size) : "N/A",
    })),
    { Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE" },
  ));
  const cache = du.BuildCache ?? [];
  const total = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  cli.out(`\nBuild cache usage: ${humanSize(total)}\n\n`);
  const bFmt = parseFormat(
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
    "",
  );
  const since = (t?: string | null) => t ? humanDuration(Date.now() - Date.parse(t)) + " ago" : "";
  cli.out(renderRows(
    bFmt,
    cache.map((b) => ({
      goType: "*formatter.buildCacheContext",
      ID: () => truncateId(b.ID),
      CacheType: () => b.Type ?? "",
      Size: () => humanSize(b.Size),
      CreatedSince: () => since(b.CreatedAt),
      LastUsedSince: () => since(b.LastUsedAt),
      UsageCount: () => String(b.UsageCount ?? 0),
      Shared: () => String(!!b.Shared),
    })),
    {
      ID: "CACHE ID",
      CacheType: "CACHE TYPE",
      Size: "SIZE",
      CreatedSince: "CREATED",
      LastUsedSince: "LAST USED",
      UsageCount: "USAGE",
      Shared: "SHARED",
    },
  ));
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const fmt = v.verbose ? undefined : parseFormat(
    v.format as string,
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
  );
  const du = await cli.client.json<DiskUsage>("GET", "/system/df");
  if (!fmt) {
    verbose(cli, du);
    return 0;
  }
  cli.out(renderRows(fmt, summary(du), {
    Type: "TYPE",
    TotalCount: "TOTAL",
    Active: "ACTIVE",
    Size: "SIZE",
    Reclaimable: "RECLAIMABLE",
  }));
  return 0;
}

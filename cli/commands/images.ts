/**
 * `docker images`: GET /images/json, one row per repository:tag (or digest),
 * through the CLI's image format context.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { FILTER, FORMAT_TABLE } from "../opts.ts";
import { parseFormat, renderRows } from "../format.ts";
import { goTimeString, truncateId } from "../display.ts";
import { humanDuration, humanSize } from "../units.ts";
import { filtersJson } from "../opts.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] [REPOSITORY[:TAG]]",
  short: "List images",
  aliases: ["docker image ls", "docker image list", "docker images"],
  flags: [
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Show all images (default hides intermediate images)",
    },
    { name: "digests", type: "bool", usage: "Show digests" },
    FILTER,
    FORMAT_TABLE,
    { name: "no-trunc", type: "bool", usage: "Don't truncate output" },
    { name: "quiet", short: "q", type: "bool", usage: "Only show image IDs" },
    { name: "tree", type: "bool", usage: "List multi-platform images as a tree (EXPERIMENTAL)" },
  ],
  args: { max: 1 },
};

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

const HEADER = {
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  VirtualSize: "SIZE",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
};

/** One row of `docker images` (formatter.imageContext). */
export class ImageContext {
  readonly goType = "*formatter.imageContext";
  constructor(
    readonly summary: ImageSummary,
    readonly repo: string,
    readonly tag: string,
    readonly digest: string,
    private trunc: boolean,
  ) {}
  ID(): string {
    return this.trunc ? truncateId(this.summary.Id) : this.summary.Id;
  }
  Repository(): string {
    return this.repo;
  }
  Tag(): string {
    return this.tag;
  }
  Digest(): string {
    return this.digest;
  }
  CreatedSince(): string {
    return humanDuration(Date.now() - this.summary.Created * 1000) + " ago";
  }
  CreatedAt(): string {
    return goTimeString(this.summary.Created * 1000);
  }
  Size(): string {
    return humanSize(this.summary.Size, 3);
  }
  Containers(): string {
    return this.summary.Containers === undefined || this.summary.Containers === -1
      ? "N/A"
      : String(this.summary.Containers);
  }
  VirtualSize(): string {
    return humanSize(this.summary.VirtualSize ?? this.summary.Size);
  }
  SharedSize(): string {
    return this.summary.SharedSize === undefined || this.summary.SharedSize === -1
      ? "N/A"
      : humanSize(this.summary.SharedSize);
  }
  UniqueSize(): string {
    if (this.summary.SharedSize === undefined || this.summary.SharedSize === -1) return "N/A";
    return humanSize(this.summary.Size - this.summary.SharedSize);
  }
  toJSON(): Record<string, string> {
    return {
      Containers: this.Containers(),
      CreatedAt: this.CreatedAt(),
      CreatedSince: this.CreatedSince(),
      Digest: this.Digest(),
      ID: this.ID(),
      Repository: this.Repository(),
      SharedSize: this.SharedSize(),
      Size: this.Size(),
      Tag: this.Tag(),
      UniqueSize: this.UniqueSize(),
      VirtualSize: this.VirtualSize(),
    };
  }
}

/** formatter.imageFormat's rows: one per tag, digests matched by repository. */
export function imageRows(
  images: ImageSummary[],
  opts: { digests: boolean; digestsForTags: boolean; trunc: boolean },
): ImageContext[] {
  const rows: ImageContext[] = [];
  const split = (ref: string, sep: string): [string, string] => {
    const i = ref.lastIndexOf(sep);
    return i < 0 ? [ref, ""] : [ref.slice(0, i), ref.slice(i + 1)];
  };
  for (const img of images) {
    const repoTags = (img.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    const repoDigests = (img.RepoDigests ?? []).filter((d) => d !== "<none>@<none>");
    const byRepo = new Map<string, { tags: string[]; digests: string[] }>();
    for (const rd of repoDigests) {
      const [repo, dg] = split(rd, "@");
      const e = byRepo.get(repo) ?? { tags: [], digests: [] };
      e.digests.push(dg);
      byRepo.set(repo, e);
    }
    for (const rt of repoTags) {
      // The tag separator is the last ':' after the last '/' (a registry may have a port).
      const slash = rt.lastIndexOf("/");
      const colon = rt.lastIndexOf(":");
      const [repo, tag] = colon > slash ? [rt.slice(0, colon), rt.slice(colon + 1)] : [rt, ""];
      const e = byRepo.get(repo) ?? { tags: [], digests: [] };
      e.tags.push(tag);
      byRepo.set(repo, e);
    }
    if (!byRepo.size) {
      rows.push(new ImageContext(img, "<none>", "<none>", "<none>", opts.trunc));
      continue;
    }
    // Tagged repositories first, then the ones known by digest only (imageFormatTaggedAndDigest).
    const tagged = [...byRepo].filter(([, e]) => e.tags.length);
    const digestOnly = [...byRepo].filter(([, e]) => !e.tags.length);
    for (const [repo, { tags, digests }] of tagged) {
      const shown = opts.digestsForTags ? digests : [];
      for (const tag of tags) {
        if (!shown.length) rows.push(new ImageContext(img, repo, tag, "<none>", opts.trunc));
        for (const d of shown) rows.push(new ImageContext(img, repo, tag, d, opts.trunc));
      }
    }
    for (const [repo, { digests }] of digestOnly) {
      if (opts.digests) {
        for (const d of digests) rows.push(new ImageContext(img, repo, "<none>", d, opts.trunc));
      } else {
        rows.push(new ImageContext(img, repo, "<none>", "", opts.trunc));
      }
    }
  }
  return rows;
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  const filters = [...(v.filter as string[])];
  if (opts.args[0]) filters.push(`reference=${opts.args[0]}`);
  let format = v.format as string;
  if (!format && !v.quiet) {
    try {
      format = cli.config.load().imagesFormat ?? "";
    } catch { /* no config */ }
  }
  if (v.quiet && (format === "" || format === "table")) format = "{{.ID}}";
  let table = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  if (v.digests) {
    table = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  }
  const fmt = parseFormat(format, table);
  const images = await cli.client.json<ImageSummary[]>("GET", "/images/json", {
    query: { all: v.all ? "1" : undefined, filters: filtersJson(filters) },
  });
  const rows = imageRows(images, {
    digests: v.digests as boolean,
    // A template that shows .Digest gets the tags' digests too.
    digestsForTags: v.digests as boolean || /\.Digest\b/.test(format),
    trunc: !v["no-trunc"],
  });
  cli.out(renderRows(fmt, rows, HEADER));
  return 0;
}

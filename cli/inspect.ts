/**
 * `docker inspect` and the typed `container inspect` / `image inspect`:
 * each reference looked up in turn (auto-detecting its type as the CLI does),
 * printed as an indented JSON array, compact JSON, or a template per object;
 * errors after the output, status 1 (64 for a template that does not parse).
 */
import type { Cli } from "./cli.ts";
import { ConnectError, DaemonError, StatusError } from "./errors.ts";
import { Template, TemplateError } from "./template.ts";

export type ObjectType =
  | "config"
  | "container"
  | "image"
  | "network"
  | "node"
  | "plugin"
  | "secret"
  | "service"
  | "task"
  | "volume";

const TYPES: ObjectType[] = [
  "config",
  "container",
  "image",
  "network",
  "node",
  "plugin",
  "secret",
  "service",
  "task",
  "volume",
];

/** Auto-detection order (swarm objects only where the daemon is a swarm manager). */
const ORDER: { type: ObjectType; swarm: boolean }[] = [
  { type: "container", swarm: false },
  { type: "image", swarm: false },
  { type: "network", swarm: false },
  { type: "volume", swarm: false },
  { type: "service", swarm: true },
  { type: "task", swarm: true },
  { type: "node", swarm: true },
  { type: "plugin", swarm: false },
  { type: "secret", swarm: true },
  { type: "config", swarm: true },
];

function path(
  type: ObjectType,
  ref: string,
  size: boolean,
): [string, Record<string, string | undefined>] {
  const r = encodeURIComponent(ref);
  switch (type) {
    case "container":
      return [`/containers/${r}/json`, { size: size ? "1" : undefined }];
    case "image":
      return [`/images/${r}/json`, {}];
    case "network":
      return [`/networks/${r}`, {}];
    case "volume":
      return [`/volumes/${r}`, {}];
    case "plugin":
      return [`/plugins/${r}/json`, {}];
    default:
      return [`/${type}s/${r}`, {}];
  }
}

export function checkType(t: string): ObjectType | undefined {
  if (!t) return undefined;
  if (!(TYPES as string[]).includes(t)) {
    throw new StatusError(
      `unknown type: "${t}": must be one of ${TYPES.map((x) => `"${x}"`).join(", ")}`,
      1,
    );
  }
  return t as ObjectType;
}

function skippable(e: unknown): boolean {
  if (e instanceof DaemonError) {
    return e.notFound || /not supported|invalid reference format/.test(e.daemonMessage);
  }
  return false;
}

async function lookup(
  cli: Cli,
  ref: string,
  type: ObjectType | undefined,
  size: boolean,
  platform?: string,
): Promise<unknown> {
  if (type) {
    const [p, query] = path(type, ref, size);
    if (platform) query.platform = JSON.stringify(platformObject(platform));
    return await cli.client.json("GET", p, { query });
  }
  let swarm: boolean | undefined;
  for (const o of ORDER) {
    if (o.swarm) {
      if (swarm === undefined) {
        try {
          const info = await cli.client.json<{ Swarm?: { ControlAvailable?: boolean } }>(
            "GET",
            "/info",
          );
          swarm = !!info.Swarm?.ControlAvailable;
        } catch (e) {
          if (e instanceof ConnectError) throw e;
          cli.err((e as Error).message + "\n");
          swarm = false;
        }
      }
      if (!swarm) continue;
    }
    const [p, query] = path(o.type, ref, size && o.type === "container");
    try {
      return await cli.client.json("GET", p, { query });
    } catch (e) {
      if (skippable(e)) continue;
      throw e;
    }
  }
  throw new Error(`Error: No such object: ${ref}`);
}

export async function inspectRefs(
  cli: Cli,
  refs: string[],
  opts: { format: string; type?: ObjectType; size: boolean; platform?: string },
): Promise<number> {
  let tmpl: Template | undefined;
  if (opts.format && opts.format !== "json") {
    try {
      tmpl = new Template(opts.format);
    } catch (e) {
      if (e instanceof TemplateError) {
        throw new StatusError(`template parsing error: ${e.message}`, 64);
      }
      throw e;
    }
  }
  const found: unknown[] = [];
  const errors: string[] = [];
  let out = "";
  for (const ref of refs) {
    let obj: unknown;
    try {
      obj = await lookup(cli, ref, opts.type, opts.size, opts.platform);
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      errors.push((e as Error).message);
      continue;
    }
    if (tmpl) {
      // Objects print as the CLI's typed structs would; a missing key is an error.
      try {
        out += tmpl.execute(obj, undefined, { structs: true, missingKeyError: true }) + "\n";
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        out += e.partial + "\n";
        errors.push(`template parsing error: ${e.message}`);
      }
    } else {
      found.push(obj);
    }
  }
  if (tmpl) cli.out(out);
  else if (opts.format === "json") cli.out(JSON.stringify(found) + "\n");
  else cli.out(found.length ? JSON.stringify(found, null, 4) + "\n" : "[]\n");
  if (errors.length) throw new StatusError(errors.join("\n"), 1);
  return 0;
}

/** "linux/amd64/v8" → the OCI platform object the API takes as JSON. */
function platformObject(p: string): Record<string, string> {
  const [os, architecture, variant] = p.split("/");
  return { os, ...(architecture ? { architecture } : {}), ...(variant ? { variant } : {}) };
}

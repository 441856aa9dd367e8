/**
 * Image routes (moby's api/server/router/image): pull, list, inspect,
 * history, tag, remove, prune, save, load. They translate HTTP to the image
 * library (daemon/images) and back, and publish image events as dockerd
 * does. Image names in paths may hold slashes (`/images/host:5000/a/b:1/json`).
 */
import type { Context } from "hono";
import type { App, Env } from "../app.ts";
import { ApiError, badRequest } from "../errors.ts";
import { progressResponse } from "../json_stream.ts";
import { boolValue, parseFilters } from "../query.ts";
import { compareVersions } from "../version.ts";
import type { Engine } from "../../engine.ts";
import {
  type AuthConfig,
  decodeRegistryAuth,
  type ImageDeleteResponseItem,
  ImageError,
  imageHistory,
  type ImageService,
  inspectImage,
  type JsonMessage,
  listImages,
  loadImages,
  pruneImages,
  pull,
  removeImage,
  saveImages,
  statusOf,
} from "../../images/mod.ts";
import { parsePlatform } from "../../images/platform.ts";
import {
  familiarName,
  familiarString,
  parseDigest,
  parseNormalized,
  type Reference,
  ReferenceError,
  validateTag,
} from "../../images/reference.ts";
import { selectForSave } from "../../images/save.ts";

type Ctx = Context<Env>;
type Handler = (c: Ctx) => Response | Promise<Response>;

/** Errors of the image library as API errors with their kind's status. */
function toApiError(e: unknown): unknown {
  if (e instanceof ImageError) return new ApiError(statusOf(e.kind), e.message);
  if (e instanceof ReferenceError) return badRequest(e.message);
  return e;
}

const route = (fn: Handler): Handler => async (c) => {
  try {
    return await fn(c);
  } catch (e) {
    throw toApiError(e);
  }
};

/** The `{name}` of the path (it may hold slashes). */
const nameOf = (c: Ctx) => c.req.param("name") ?? "";

async function labelsOf(svc: ImageService, id: string): Promise<Record<string, string>> {
  try {
    return (await svc.configOf(id)).config?.Labels ?? {};
  } catch {
    return {};
  }
}

/** An image event: the image's labels as attributes, and `name` (dockerd's LogImageEvent). */
function imageEvent(
  engine: Engine,
  action: string,
  id: string,
  name: string,
  labels: Record<string, string> = {},
): void {
  engine.events.publish({ type: "image", action, id, attributes: { ...labels, name } });
}

/**
 * untag and delete events for what a removal or prune reports: each
 * Untagged belongs to the image Deleted after it (or to `fallbackId` when
 * the image stays); Deleted layers make no event. dockerd names both by
 * the image id.
 */
function removalEvents(
  engine: Engine,
  items: ImageDeleteResponseItem[],
  images: Map<string, Record<string, string>>,
  fallbackId?: string,
): void {
  let untagged = 0;
  const untag = (id: string) => {
    for (; untagged > 0; untagged--) imageEvent(engine, "untag", id, id, images.get(id));
  };
  for (const item of items) {
    if ("Untagged" in item) {
      untagged++;
    } else if (images.has(item.Deleted)) {
      untag(item.Deleted);
      imageEvent(engine, "delete", item.Deleted, item.Deleted);
    }
  }
  if (fallbackId) untag(fallbackId);
}

/** Every image's labels, read before a removal takes their configs away. */
async function allLabels(svc: ImageService): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const id of svc.images.ids()) out.set(id, await labelsOf(svc, id));
  return out;
}

/**
 * What `fromImage` and `tag` of POST /images/create name (moby's
 * postImagesCreate): the tag parameter replaces the reference's tag, and
 * may be a digest.
 */
export function pullReference(fromImage: string, tag: string): Reference {
  try {
    const ref = parseNormalized(fromImage.replace(/:$/, ""));
    if (!tag) return ref;
    const digest = asDigest(tag);
    if (digest) return { domain: ref.domain, path: ref.path, digest };
    return { ...ref, tag: validateTag(tag) };
  } catch (e) {
    if (e instanceof ReferenceError) throw badRequest(e.message);
    throw e;
  }
}

function asDigest(s: string): string | undefined {
  try {
    return parseDigest(s);
  } catch {
    return undefined;
  }
}

async function postImagesCreate(c: Ctx): Promise<Response> {
  const engine = c.get("engine");
  const fromImage = c.req.query("fromImage") ?? "";
  const platform = c.req.query("platform") || undefined;
  if (platform) parsePlatform(platform);
  if (!fromImage) {
    if (c.req.query("fromSrc") !== undefined) {
      throw new ApiError(501, "berth does not support importing images (fromSrc): use docker load");
    }
    throw badRequest("fromImage or fromSrc is required");
  }
  const ref = pullReference(fromImage, c.req.query("tag") ?? "");
  if (ref.tag === undefined && ref.digest === undefined) {
    throw new ApiError(501, "berth does not support pulling all tags of a repository: name a tag");
  }
  if (familiarName(ref) === "scratch") throw new ApiError(403, "'scratch' is a reserved name");
  // As dockerd, a header that does not decode is no credentials at all.
  let auth: AuthConfig | undefined;
  try {
    auth = decodeRegistryAuth(c.req.header("X-Registry-Auth"));
  } catch { /* ignored */ }

  const svc = engine.images;
  const shown = familiarString(ref);
  try {
    return await progressResponse(async (progress, signal) => {
      const r = await pull(svc, { ref: shown, platform, auth, progress, signal });
      imageEvent(engine, "pull", shown, familiarName(ref), await labelsOf(svc, r.record.id));
    }, {
      holdBack: (m: JsonMessage) => m.status?.startsWith("Pulling from ") ?? false,
      signal: c.req.raw.signal,
    });
  } catch (e) {
    // dockerd answers a registry's refusal of a pull with 500: a 401 would
    // make the CLI ask for a login, which fails without a terminal.
    if (e instanceof ImageError && e.kind === "unauthorized") throw new ApiError(500, e.message);
    throw e;
  }
}

async function getImagesJSON(c: Ctx): Promise<Response> {
  const svc = c.get("engine").images;
  const version = c.get("apiVersion");
  const filters = parseFilters(c.req.query("filters"));
  const legacy = c.req.query("filter");
  if (legacy && compareVersions(version, "1.41") < 0) {
    filters.reference = [...(filters.reference ?? []), legacy];
  }
  const list = await listImages(svc, { all: boolValue(c.req.query("all")), filters });
  const shared = boolValue(c.req.query("shared-size")) ? await sharedSizes(svc) : undefined;
  return c.json(list.map((s) => {
    const out = { ...s, Containers: -1, SharedSize: shared?.get(s.Id) ?? -1 };
    // Descriptor came with API 1.48; VirtualSize went with 1.44.
    delete out.Descriptor;
    if (compareVersions(version, "1.44") < 0) out.VirtualSize = s.Size;
    return out;
  }));
}

/** Per image: the size of its layers that other images share (dockerd's SharedSize). */
async function sharedSizes(svc: ImageService): Promise<Map<string, number>> {
  const chains = new Map<string, string[]>();
  const users = new Map<string, number>();
  for (const id of svc.images.ids()) {
    const chain = await svc.chainOf(id).catch(() => []);
    chains.set(id, chain);
    for (const l of chain) users.set(l, (users.get(l) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [id, chain] of chains) {
    out.set(
      id,
      chain.filter((l) => users.get(l)! > 1).reduce(
        (n, l) => n + (svc.snapshots.layer(l)?.size ?? 0),
        0,
      ),
    );
  }
  return out;
}

async function getImagesByName(c: Ctx): Promise<Response> {
  const info = await inspectImage(c.get("engine").images, nameOf(c));
  const version = c.get("apiVersion");
  delete info.Descriptor; // API 1.48
  if (compareVersions(version, "1.44") < 0) info.VirtualSize = info.Size;
  return c.json(info);
}

async function deleteImages(c: Ctx): Promise<Response> {
  const engine = c.get("engine");
  const svc = engine.images;
  const name = nameOf(c);
  if (name.trim() === "") throw badRequest("image name cannot be blank");
  const id = svc.lookup(name).id;
  const labels = await allLabels(svc);
  const items = await removeImage(svc, name, {
    force: boolValue(c.req.query("force")),
    noPrune: boolValue(c.req.query("noprune")),
  });
  removalEvents(engine, items, labels, id);
  return c.json(items);
}

async function postImagesPrune(c: Ctx): Promise<Response> {
  const engine = c.get("engine");
  const svc = engine.images;
  const filters = parseFilters(c.req.query("filters"));
  const labels = await allLabels(svc);
  const report = await pruneImages(svc, { filters });
  removalEvents(engine, report.ImagesDeleted ?? [], labels);
  engine.events.publish({
    type: "image",
    action: "prune",
    id: "",
    attributes: { reclaimed: String(report.SpaceReclaimed) },
  });
  return c.json(report);
}

async function postImagesTag(c: Ctx): Promise<Response> {
  const engine = c.get("engine");
  const svc = engine.images;
  const id = svc.lookup(nameOf(c)).id;
  const tagged = svc.tag(id, c.req.query("repo") ?? "", c.req.query("tag") || undefined);
  imageEvent(engine, "tag", id, tagged, await labelsOf(svc, id));
  return c.body(null, 201);
}

/** docker save: the archive streams out; a save event per image once it is written. */
function exportImages(c: Ctx, names: string[]): Response {
  const engine = c.get("engine");
  const svc = engine.images;
  const ids = names.length ? selectForSave(svc, names).map((s) => s.id) : [];
  const labels = new Map<string, Record<string, string>>();
  const archive = saveImages(svc, names);
  const done = new TransformStream<Uint8Array, Uint8Array>({
    start: async () => {
      for (const id of ids) labels.set(id, await labelsOf(svc, id));
    },
    flush: () => {
      for (const id of ids) imageEvent(engine, "save", id, id, labels.get(id));
    },
  });
  return new Response(archive.pipeThrough(done), {
    headers: { "Content-Type": "application/x-tar" },
  });
}

function postImagesLoad(c: Ctx): Promise<Response> {
  const engine = c.get("engine");
  const svc = engine.images;
  const quiet = boolValue(c.req.query("quiet"), true);
  const input = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (s) => s.close() });
  // Load errors always go into the stream, as dockerd's postImagesLoad writes them.
  return progressResponse(async (progress) => {
    // Quiet: the "Loaded image" lines, not the per-layer bars.
    const r = await loadImages(svc, input, quiet ? (m) => m.stream && progress(m) : progress);
    for (const id of r.ids) imageEvent(engine, "load", id, id, await labelsOf(svc, id));
  }, { immediate: true, signal: c.req.raw.signal });
}

export function imageRoutes(app: App): void {
  app.post("/images/create", route(postImagesCreate));
  app.get("/images/json", route(getImagesJSON));
  app.get("/images/get", route((c) => exportImages(c, c.req.queries("names") ?? [])));
  app.post("/images/load", route(postImagesLoad));
  app.post("/images/prune", route(postImagesPrune));
  app.get("/images/:name{.+}/json", route(getImagesByName));
  app.get(
    "/images/:name{.+}/history",
    route(async (c) => c.json(await imageHistory(c.get("engine").images, nameOf(c)))),
  );
  app.get("/images/:name{.+}/get", route((c) => exportImages(c, [nameOf(c)])));
  app.post("/images/:name{.+}/tag", route(postImagesTag));
  app.delete("/images/:name{.+}", route(deleteImages));
}

/**
 * `GET /containers/{id}/stats`: as dockerd's ContainerStats. `stream`
 * (default true) sends a sample every second, each with the previous one's
 * CPU numbers as precpu_stats, until the client leaves or the container is
 * removed; `stream=0` waits for a second sample so that precpu_stats is
 * filled; `one-shot=1` (with stream=0) answers one sample at once. A
 * container that is not running gives zeroed stats.
 */
import type { App } from "../app.ts";
import type { Engine } from "../../engine.ts";
import { badRequest } from "../errors.ts";
import { boolValue } from "../query.ts";
import { compareVersions } from "../version.ts";
import { goJson, readStats, type StatsJSON, zeroStats } from "../../containers/stats.ts";
import type { ContainerRecord } from "../../containers/store.ts";
import { ZERO_TIME } from "../../containers/create.ts";

const INTERVAL_MS = 1000;
const HEADERS = { "Content-Type": "application/json" };

function sample(engine: Engine, rec: ContainerRecord): StatsJSON {
  const now = engine.containers.find(rec.Id) ?? rec;
  if (!now.State.Running || now.State.Restarting) return zeroStats(now);
  return readStats(now, engine.config.cgroupParent, Deno.systemMemoryInfo().total) ??
    zeroStats(now);
}

/** A sample with the previous one's CPU numbers and time. */
function after(prev: StatsJSON | undefined, s: StatsJSON): StatsJSON {
  if (prev) {
    s.preread = prev.read;
    s.precpu_stats = prev.cpu_stats;
  }
  return s;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

export function statsRoutes(app: App): void {
  app.get("/containers/:id/stats", async (c) => {
    const engine = c.get("engine");
    const rec = engine.containers.get(c.req.param("id"));
    const q = c.req.query();
    const stream = q.stream === undefined ? true : boolValue(q.stream);
    const oneShot = compareVersions(c.get("apiVersion"), "1.41") >= 0 &&
      boolValue(q["one-shot"]);
    if (stream && oneShot) throw badRequest("cannot have stream=true and one-shot=true");
    const signal = c.req.raw.signal;

    if (!stream) {
      let s = sample(engine, rec);
      if (!oneShot && s.read !== ZERO_TIME) {
        // Primes precpu_stats, as dockerd skips its first sample.
        await sleep(INTERVAL_MS, signal);
        s = after(s, sample(engine, rec));
      }
      return c.body(goJson(s) + "\n", 200, HEADERS);
    }

    const abort = new AbortController();
    signal.addEventListener("abort", () => abort.abort(), { once: true });
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        let prev: StatsJSON | undefined;
        while (!abort.signal.aborted && engine.containers.find(rec.Id)) {
          prev = after(prev, sample(engine, rec));
          try {
            ctl.enqueue(enc.encode(goJson(prev) + "\n"));
          } catch {
            return; // cancelled
          }
          await sleep(INTERVAL_MS, abort.signal);
        }
        try {
          ctl.close();
        } catch { /* cancelled */ }
      },
      cancel: () => abort.abort(),
    });
    return new Response(body, { status: 200, headers: HEADERS });
  });
}

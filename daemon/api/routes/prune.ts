/**
 * Prune routes of `docker system prune`: containers for real; volumes,
 * networks and the build cache, which berth does not have yet (only the
 * predefined networks exist), answer an empty report with dockerd's
 * filter checks and its prune event.
 */
import type { App } from "../app.ts";
import type { Engine } from "../../engine.ts";
import type { EngineEvent } from "../../events.ts";
import { parseFilters } from "../query.ts";
import {
  exclusivePrune,
  pruneContainers,
  pruneUntil,
  validateFilters,
} from "../../containers/prune.ts";

function prunedNothing(engine: Engine, type: EngineEvent["Type"]): void {
  engine.events.publish({ type, action: "prune", id: "", attributes: { reclaimed: "0" } });
}

export function pruneRoutes(app: App): void {
  app.post("/containers/prune", async (c) => {
    const engine = c.get("engine");
    return c.json(await pruneContainers(engine, parseFilters(c.req.query("filters"))));
  });

  app.post("/volumes/prune", async (c) => {
    const engine = c.get("engine");
    validateFilters(parseFilters(c.req.query("filters")), ["label", "label!", "all"]);
    return c.json(
      await exclusivePrune(engine, () => {
        prunedNothing(engine, "volume");
        return Promise.resolve({ VolumesDeleted: [], SpaceReclaimed: 0 });
      }),
    );
  });

  app.post("/networks/prune", async (c) => {
    const engine = c.get("engine");
    const filters = parseFilters(c.req.query("filters"));
    validateFilters(filters, ["until", "label", "label!"]);
    pruneUntil(filters);
    return c.json(
      await exclusivePrune(engine, () => {
        prunedNothing(engine, "network");
        return Promise.resolve({ NetworksDeleted: null });
      }),
    );
  });

  app.post("/build/prune", (c) => {
    const engine = c.get("engine");
    parseFilters(c.req.query("filters"));
    prunedNothing(engine, "builder");
    return c.json({ CachesDeleted: null, SpaceReclaimed: 0 });
  });
}

/**
 * `create`: from a bundle to a container whose init waits for `start`.
 * On any failure nothing is left behind: no state directory, cgroup or init.
 *
 * The init's start-up (a whole Deno start-up) is the longest step of create,
 * so the init is spawned first, from a light read of config.json, and starts
 * up while this process loads and runs the rest (./create_setup.ts: the full
 * check of the config, the state record, the cgroups). The init does nothing
 * before it is told "go"; if the full check refuses the config, or asks for
 * other namespaces or stdio than the light read saw, it is killed unused.
 */
import type { Spec } from "../spec/types.ts";
import type { RuntimeContext } from "../context.ts";
import { CLONE_FLAG } from "./namespaces.ts";
import {
  abandonInit,
  type InitSpawn,
  type InitStdio,
  type SpawnedInit,
  spawnInit,
  type StartedInit,
  stdioFor,
} from "./init_process.ts";
import { containerDir, type ContainerRecord, validateId } from "./state.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /**
   * The init's stdio without a terminal (default: the runtime's own). A
   * terminal always gets none: the pty is the process's stdio.
   */
  stdio?: InitStdio;
  /** Called with the init's pid as soon as it exists (an in-process caller's reaper must know it). */
  onSpawned?: (pid: number) => void;
}

/** An init spawned before the config was fully checked, and how it was spawned. */
export interface EarlyInit {
  init: SpawnedInit;
  how: InitSpawn;
}

export async function createContainer(
  ctx: RuntimeContext,
  opts: CreateOptions,
): Promise<{ rec: ContainerRecord; init: StartedInit }> {
  const id = validateId(opts.id);
  let bundle: string;
  try {
    bundle = Deno.realPathSync(opts.bundle);
  } catch {
    throw new Error(`bundle ${opts.bundle} does not exist`);
  }
  Deno.mkdirSync(ctx.root, { recursive: true, mode: 0o700 });
  const dir = containerDir(ctx.root, id);
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw new Error(`container with id exists: ${id}`);
    throw e;
  }
  const early = spawnEarly(bundle, dir, opts);
  let setup: typeof import("./create_setup.ts");
  try {
    // Computed, so that `deno run` loads it now, while the init starts up,
    // rather than before this module runs.
    setup = await import(new URL("./create_setup.ts", import.meta.url).href);
  } catch (e) {
    if (early) await abandonInit(early.init);
    Deno.removeSync(dir, { recursive: true });
    throw e;
  }
  return await setup.setUpContainer(ctx, opts, { id, bundle, dir, early });
}

/** How the init of a container with this config is spawned. */
export function initSpawnOf(
  config: Pick<Spec, "process" | "linux">,
  dir: string,
  opts: CreateOptions,
): InitSpawn {
  return {
    syncSocket: `${dir}/sync.sock`,
    namespaces: config.linux?.namespaces ?? [],
    rootfsPropagation: config.linux?.rootfsPropagation,
    stdio: config.process?.terminal ? stdioFor("null") : opts.stdio ?? stdioFor("inherit"),
    onSpawned: opts.onSpawned,
  };
}

/**
 * Spawns the init from config.json as read, without the full check, when its
 * namespaces look plain (known types, each once, a mount namespace among
 * them); otherwise, or on any failure, returns nothing and create spawns the
 * init after the check, which reports what is wrong.
 */
function spawnEarly(bundle: string, dir: string, opts: CreateOptions): EarlyInit | undefined {
  try {
    const raw = JSON.parse(Deno.readTextFileSync(`${bundle}/config.json`));
    const namespaces: unknown = raw?.linux?.namespaces;
    if (!Array.isArray(namespaces)) return undefined;
    const seen = new Set<string>();
    for (const n of namespaces) {
      const plain = typeof n === "object" && n !== null &&
        typeof n.type === "string" && n.type in CLONE_FLAG && n.type !== "user" &&
        n.type !== "time" && !seen.has(n.type) &&
        (n.path === undefined || (typeof n.path === "string" && n.path.startsWith("/")));
      if (!plain) return undefined;
      seen.add(n.type);
    }
    const propagation = raw.linux.rootfsPropagation;
    if (!seen.has("mount") || (propagation !== undefined && typeof propagation !== "string")) {
      return undefined;
    }
    if (raw.process?.terminal !== undefined && typeof raw.process.terminal !== "boolean") {
      return undefined;
    }
    const how = initSpawnOf(raw, dir, opts);
    return { init: spawnInit(how), how };
  } catch {
    return undefined;
  }
}

/**
 * The runtime's side of starting an init (for create) or an exec'd process:
 * enter the namespaces, spawn this program as "init", put it in the cgroup,
 * then walk it through the sync protocol of {@link Channel}, whose first
 * message carries the init's config.
 */
import type { Namespace, NamespaceType, Spec, State } from "../spec/types.ts";
import type { InitConfig } from "./init.ts";
import { Channel, ChannelClosed } from "./channel.ts";
import { enterNamespaces } from "./namespaces.ts";
import { selfCommand } from "../self_exec.ts";
import { listenUnixSocket } from "../linux/unix_socket.ts";
import { type Child, spawnChild } from "../linux/spawn.ts";

/** How an init is born: its namespaces and stdio, and where it reports. */
export interface InitSpawn {
  /** The socket the runtime listens on; the init's only argument. */
  syncSocket: string;
  namespaces: Namespace[];
  /** exec: namespaces the runtime must not enter (the init joins them). */
  skip?: NamespaceType[];
  /** linux.rootfsPropagation: a shared one keeps the init's mounts visible to the host. */
  rootfsPropagation?: string;
  /**
   * The init's stdio: the runtime's own ("inherit"), none ("null": with a
   * terminal the caller may be waiting for EOF on pipes it gave the runtime),
   * or pipes the caller reads and writes through the child ("piped": a shim
   * that runs the runtime in-process).
   */
  stdio: InitStdio;
  /** Called with the pid right after the spawn (an in-process caller's reaper must know it). */
  onSpawned?: (pid: number) => void;
}

/** What the runtime does with an init once it exists. */
export interface InitDrive {
  /** Sent with "go": everything the init needs to know. */
  cfg: InitConfig;
  /** Runs while the init starts up: record the pid, make the cgroups. */
  prepare?: (pid: number) => void;
  /**
   * Puts the init in the container's cgroup once it has started up (it has
   * connected), while it begins its set-up ("go" is sent first). Not
   * earlier: a Deno start-up allocates tens of megabytes, which would count
   * against the container's memory limit (Docker allows 6 MB) and its pids
   * limit, and stay charged to it.
   */
  placeInCgroup: (pid: number) => void;
  /**
   * Runs once the init is ready, before the caller hears of it: create sets
   * the cgroup's limits here, as runc does, so that the init's own set-up
   * (a Deno process doing in JS what runc's does in Go) is not slowed by a
   * tiny CPU quota; the user's process starts under them all the same.
   */
  onReady?: () => void;
  /** Runs prestart and createRuntime hooks (create only). */
  runtimeHooks?: (state: State) => Promise<void>;
  stateFor: (pid: number) => State;
}

export type InitStart = InitSpawn & InitDrive;

export type InitStdio = Record<"stdin" | "stdout" | "stderr", "inherit" | "null" | "piped">;

/** The same choice for all three streams. */
export function stdioFor(mode: "inherit" | "null" | "piped"): InitStdio {
  return { stdin: mode, stdout: mode, stderr: mode };
}

/** The init: a Deno.ChildProcess where the caller reads and writes its stdio through pipes. */
export type InitChild = Child | Deno.ChildProcess;

export interface StartedInit {
  child: InitChild;
  pid: number;
}

/** An init that exists and waits for "go" on its sync socket. */
export interface SpawnedInit extends StartedInit {
  listener: Deno.UnixListener;
  syncSocket: string;
}

/**
 * Starts this program as an init inside the container's namespaces. It
 * connects to the sync socket and does nothing before the runtime says "go",
 * so it may be spawned before the config is fully checked (create does, to
 * overlap the init's start-up with its own work) and killed if it is not.
 */
export function spawnInit(opts: InitSpawn): SpawnedInit {
  const listener = listenUnixSocket(opts.syncSocket);
  try {
    const saved = enterNamespaces(opts.namespaces, {
      skip: opts.skip,
      readonlyExe: true,
      rootPropagationShared: /shared/.test(opts.rootfsPropagation ?? ""),
    });
    let child: InitChild;
    try {
      const { command, args } = selfCommand("init", [opts.syncSocket]);
      const { stdin, stdout, stderr } = opts.stdio;
      if (stdin !== "piped" && stdout !== "piped" && stderr !== "piped") {
        // The init moves to "/" and puts every signal back to its default
        // itself, so the spawn need not (each costs libc bindings here).
        child = spawnChild(command, [command, ...args], envList(), {
          stdio: { stdin, stdout, stderr },
          resetSignals: false,
        });
      } else {
        child = new Deno.Command(command, { args, ...opts.stdio, cwd: "/" }).spawn();
      }
    } finally {
      saved.restore();
    }
    opts.onSpawned?.(child.pid);
    return { child, pid: child.pid, listener, syncSocket: opts.syncSocket };
  } catch (e) {
    closeSync(listener, opts.syncSocket);
    throw e;
  }
}

/** Kills an init that will not be used and removes its socket. */
export async function abandonInit(init: SpawnedInit): Promise<void> {
  try {
    init.child.kill("SIGKILL");
  } catch { /* gone */ }
  await init.child.status;
  closeSync(init.listener, init.syncSocket);
}

/** Walks a spawned init through the sync protocol; returns once it is ready (created, or about to exec). */
export async function driveInit(init: SpawnedInit, opts: InitDrive): Promise<StartedInit> {
  const { child, pid } = init;
  const { cfg } = opts;
  try {
    opts.prepare?.(pid);
    const conn = await acceptOrExit(init.listener, child);
    const chan = new Channel(conn);
    try {
      await chan.send({ type: "go", cfg });
      try {
        opts.placeInCgroup(pid);
      } catch (e) {
        throw await initsOwnError(chan) ?? e;
      }
      // The init may have failed meanwhile and gone: then the next message
      // read is its error, which says why.
      await chan.send({ type: "placed" }).catch(() => {});
      if (cfg.mode === "create" && cfg.hookPause) {
        await chan.expect("hooks");
        const state = opts.stateFor(pid);
        await opts.runtimeHooks?.(state);
        await chan.send({ type: "resume", state });
      }
      await chan.expect("ready");
      opts.onReady?.();
    } finally {
      chan.close();
    }
    return { child, pid };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    if (e instanceof ChannelClosed) throw new Error(`${e.message} (see the runtime's stderr)`);
    throw e;
  } finally {
    closeSync(init.listener, init.syncSocket);
  }
}

/** Spawns an init and walks it through the sync protocol. */
export async function startInit(opts: InitStart): Promise<StartedInit> {
  return await driveInit(spawnInit(opts), opts);
}

function closeSync(listener: Deno.UnixListener, path: string): void {
  try {
    listener.close();
  } catch { /* closed */ }
  try {
    Deno.removeSync(path);
  } catch { /* gone */ }
}

/**
 * The error an init reported on its own, if it did (within a moment): an
 * init that failed and exited cannot be moved into a cgroup any more, and
 * its message is what the user needs.
 */
async function initsOwnError(chan: Channel): Promise<Error | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 500);
  });
  try {
    const msg = await Promise.race([chan.recv().catch(() => undefined), late]);
    return msg?.type === "error" ? new Error(msg.message) : undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** This process's environment as "KEY=value" strings. */
function envList(): string[] {
  return Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`);
}

/** Accepts the init's connection, or fails if the init dies first. */
async function acceptOrExit(
  listener: Deno.UnixListener,
  child: InitChild,
): Promise<Deno.Conn> {
  const exited = child.status.then((s) => {
    throw new Error(`the init process exited early with code ${s.code}`);
  });
  exited.catch(() => {}); // after a successful accept the init's exit is someone else's business
  return await Promise.race([listener.accept(), exited]);
}

/** The config for an exec'd process: the container's, with this process. */
export function execSpec(container: Spec, process: NonNullable<Spec["process"]>): Spec {
  return { ...container, process, hooks: undefined, mounts: undefined };
}

/**
 * The `dockerd` role: the Docker Engine API over unix sockets (and TCP),
 * with dockerd's flags and daemon.json. Stopping it never stops containers.
 */
import { ConfigError, DEFAULTS, parseDaemonArgs } from "./config.ts";
import { BERTH_VERSION, daemonId, type Engine, stderrLogger } from "./engine.ts";
import { createApi } from "./api/app.ts";
import { listen, type Listener } from "./server/listen.ts";
import { API_VERSION } from "./api/version.ts";
import { type ContainerdHandle, ensureContainerd } from "./containerd_supervisor.ts";
import { ContainerdClient } from "./containerd_client.ts";
import { ContainerStore } from "./containers/store.ts";
import { ImageService } from "./images/mod.ts";
import { EventBus } from "./events.ts";
import { ContainerService } from "./containers/service.ts";
import { ExecService } from "./containers/exec.ts";
import { hijackHandler } from "./api/hijack_routes.ts";

const HELP = `Usage: dockerd [OPTIONS]

A self-sufficient runtime for containers (berth).

Options:
  -H, --host list             Daemon socket(s) to connect to (default ${DEFAULTS.host})
      --data-root string      Root directory of persistent state (default ${DEFAULTS.dataRoot})
      --exec-root string      Root directory for execution state (default ${DEFAULTS.execRoot})
      --config-file string    Daemon configuration file (default ${DEFAULTS.configFile})
      --containerd string     containerd grpc address (default: start our own)
  -G, --group string          Group for the unix socket (default "${DEFAULTS.group}")
  -l, --log-level string      debug, info, warn, error, fatal (default "info")
  -D, --debug                 Enable debug mode
      --registry-mirror list  Preferred registry mirror
      --insecure-registry list  Registries reachable over plain HTTP or unverified TLS
      --log-opt list          Default log driver options (max-size, max-file)
  -v, --version               Print version information and quit`;

export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseDaemonArgs(args);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`dockerd: ${e.message}`);
    return e.exitCode;
  }
  if (parsed.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.version) {
    console.log(`Docker version ${BERTH_VERSION} (berth), API ${API_VERSION}`);
    return 0;
  }
  const config = parsed.config!;
  if (Deno.uid() !== 0) {
    console.error("dockerd: berth's dockerd needs to be started as root");
    return 1;
  }
  const log = stderrLogger(config.logLevel);
  Deno.mkdirSync(config.dataRoot, { recursive: true, mode: 0o711 });
  Deno.mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });

  let containerd: ContainerdHandle;
  try {
    containerd = await ensureContainerd(config, log);
  } catch (e) {
    log.error(`failed to start containerd: ${(e as Error).message}`);
    return 1;
  }

  const containers = new ContainerStore(`${config.dataRoot}/containers`);
  containers.load(log.warn);
  const images = new ImageService({
    root: `${config.dataRoot}/image`,
    registryMirrors: config.registryMirrors,
    insecureRegistries: config.insecureRegistries,
    containersUsing: (imageId) =>
      containers.all().filter((r) => r.Image === imageId).map((r) => ({
        id: r.Id,
        running: r.State.Running,
      })),
  });
  await images.init();

  const engine = {
    version: BERTH_VERSION,
    id: daemonId(config.dataRoot),
    config,
    log,
    containerd: new ContainerdClient(containerd.address),
    containers,
    images,
    events: new EventBus(),
    counts: () => {
      const all = containers.all();
      const running = all.filter((r) => r.State.Running && !r.State.Paused).length;
      const paused = all.filter((r) => r.State.Paused).length;
      return {
        containers: all.length,
        running,
        paused,
        stopped: all.length - running - paused,
        images: images.images.ids().length,
      };
    },
  } as Engine;
  engine.lifecycle = new ContainerService(engine);
  engine.execs = new ExecService(engine);
  // Running containers are re-adopted (and exits while dockerd was down recorded) before serving.
  await engine.lifecycle.restore();
  const api = createApi(engine);
  const hijack = hijackHandler(engine);

  // Stop signals are handled from before the first socket is bound.
  const { promise: stop, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => resolve(sig));
  const listeners: Listener[] = [];
  try {
    for (const host of config.hosts) {
      listeners.push(
        await listen(host, api, hijack, { group: config.group, log: log.warn }),
      );
      log.info(`API listen on ${host}`);
    }
  } catch (e) {
    log.error(`failed to start: ${(e as Error).message}`);
    for (const l of listeners) await l.close();
    // Our gRPC calls end before containerd does (grpc-js under Deno can spin
    // on a connection whose server goes away mid-call).
    engine.lifecycle.close();
    engine.containerd.close();
    await containerd.stop();
    return 1;
  }
  log.info(`Daemon has completed initialization (berth ${BERTH_VERSION}, API ${API_VERSION})`);

  const sig = await stop;
  log.info(`received ${sig}: shutting down; containers keep running`);
  engine.lifecycle.close();
  await Promise.all(listeners.map((l) => l.close()));
  engine.containerd.close();
  // Containers are supervised by their shims; containerd re-adopts them when it starts again.
  await containerd.stop();
  return 0;
}

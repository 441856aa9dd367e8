/**
 * The `containerd` role: a long-running supervisor serving containerd's gRPC
 * API on a unix socket. Stopping it (SIGTERM, SIGINT) closes the server and
 * removes the socket; containers keep running under their shims.
 */
import grpc from "@grpc/grpc-js";
import { ConfigError, DEFAULTS, parseArgs } from "./config.ts";
import type { DaemonContext } from "./context.ts";
import { Exchange } from "./events.ts";
import { createLogger } from "./log.ts";
import { Metadata } from "./metadata/store.ts";
import { buildServer, type Registration } from "./server.ts";
import { clearStaleSocket, setSocketOwner, SocketInUse, withPrivateUmask } from "./socket.ts";
import { containersService } from "./services/containers.ts";
import { EVENTS_NO_NAMESPACE, eventsService } from "./services/events.ts";
import { introspectionService } from "./services/introspection.ts";
import { NAMESPACES_NO_NAMESPACE, namespacesService } from "./services/namespaces.ts";
import { tasksService } from "./services/tasks.ts";
import { REVISION, VERSION, versionService } from "./services/version.ts";

const HELP = `NAME:
   containerd - berth's containerd: a container supervisor serving containerd's API

USAGE:
   containerd [global options]

GLOBAL OPTIONS:
   --config value, -c value     path to the configuration file (default: "${DEFAULTS.config}")
   --log-level value, -l value  set the logging level [trace, debug, info, warn, error]
   --address value, -a value    address for containerd's GRPC server (default: "${DEFAULTS.address}")
   --root value                 containerd root directory (default: "${DEFAULTS.root}")
   --state value                containerd state directory (default: "${DEFAULTS.state}")
   --help, -h                   show help
   --version, -v                print the version`;

export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`containerd: ${e.message}`);
    if (e.exitCode === 2) console.error("Run 'containerd --help' for usage.");
    return e.exitCode;
  }
  if (parsed.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.version) {
    console.log(`containerd github.com/containerd/containerd ${VERSION} ${REVISION}`);
    return 0;
  }
  const config = parsed.config!;
  const log = createLogger(config.logLevel);
  log.info(`starting containerd version=${VERSION} revision=${REVISION}`);
  if (parsed.configFile) log.debug(`config loaded from ${parsed.configFile}`);

  // Listen for stop signals before the socket exists: a client may connect
  // and signal as soon as it is bound, before the rest of start-up returns.
  const stopSignal = stopSignalReceived();
  let server: grpc.Server;
  try {
    for (const dir of [config.root, config.state]) {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o711 });
    }
    Deno.mkdirSync(config.address.slice(0, config.address.lastIndexOf("/")) || "/", {
      recursive: true,
      mode: 0o711,
    });
    await clearStaleSocket(config.address);

    const metadata = new Metadata(config.root, log);
    metadata.load();
    const events = new Exchange(log);
    const ctx: DaemonContext & { metadata: Metadata; events: Exchange } = {
      config,
      events,
      metadata,
      log,
    };
    const regs: Registration[] = [
      {
        service: "containerd.services.version.v1.Version",
        handlers: versionService(),
        noNamespace: ["Version"],
      },
      {
        service: "containerd.services.introspection.v1.Introspection",
        handlers: introspectionService(ctx),
        noNamespace: ["Plugins", "Server"],
      },
      {
        service: "containerd.services.namespaces.v1.Namespaces",
        handlers: namespacesService(ctx),
        noNamespace: NAMESPACES_NO_NAMESPACE,
      },
      { service: "containerd.services.containers.v1.Containers", handlers: containersService(ctx) },
      {
        service: "containerd.services.events.v1.Events",
        handlers: eventsService(ctx),
        noNamespace: EVENTS_NO_NAMESPACE,
      },
      { service: "containerd.services.tasks.v1.Tasks", handlers: tasksService(ctx) },
    ];
    server = buildServer(ctx, regs, log.level === "trace" ? log.trace : log.debug);
    await withPrivateUmask(() =>
      new Promise<number>((resolve, reject) =>
        server.bindAsync(
          `unix://${config.address}`,
          grpc.ServerCredentials.createInsecure(),
          (err, port) => err ? reject(err) : resolve(port),
        )
      )
    );
    setSocketOwner(config.address, config.uid, config.gid);
  } catch (e) {
    if (e instanceof SocketInUse) {
      log.error(e.message);
      return 1;
    }
    log.error(`failed to start: ${(e as Error).message}`);
    return 1;
  }
  log.info(`serving... address=${config.address}`);
  log.info("containerd successfully booted");
  const sig = await stopSignal;
  log.info(`received ${sig}, shutting down`);
  // Open calls (event streams, waits) are cut: clients see UNAVAILABLE, as
  // when containerd stops. Tasks and their shims are left alone.
  server.forceShutdown();
  try {
    Deno.removeSync(config.address);
  } catch { /* already gone */ }
  log.info("containerd stopped");
  return 0;
}

/** Resolves with the first SIGTERM or SIGINT. */
function stopSignalReceived(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(sig, () => resolve(sig));
    }
  });
}

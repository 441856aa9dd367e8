/**
 * `POST /containers/create`: from the request body and the image's config to
 * a container record, with Docker's validation and defaults. Nothing is
 * written here; the service stores the record once the rootfs exists.
 */
import type {
  ContainerConfig,
  ContainerCreateBody,
  ContainerState,
  HostConfig,
} from "../api/types.ts";
import { badRequest } from "../api/errors.ts";
import { normalizeCgroupParent } from "../config.ts";
import type { ImageConfig } from "../images/mod.ts";
import { hostSettings } from "./spec.ts";
import type { ContainerRecord } from "./store.ts";

export const ZERO_TIME = "0001-01-01T00:00:00Z";

export function initialState(): ContainerState {
  return {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: "",
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

const RESTART_POLICIES = ["", "no", "always", "unless-stopped", "on-failure"];
const SIGNAL_RE = /^(SIG)?[A-Z0-9+-]+$|^\d+$/;

/** The checks dockerd makes before anything is created (400 on failure). */
export function validateCreate(body: unknown): ContainerCreateBody {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("config cannot be empty in order to create a container");
  }
  const b = body as ContainerCreateBody;
  if (!b.Image || typeof b.Image !== "string") {
    throw badRequest("No image was specified (Image is required)");
  }
  const host = b.HostConfig ?? {};
  const policy = host.RestartPolicy;
  if (policy) {
    if (!RESTART_POLICIES.includes(policy.Name ?? "")) {
      throw badRequest(`invalid restart policy: unknown policy '${policy.Name}'`);
    }
    if ((policy.MaximumRetryCount ?? 0) < 0) {
      throw badRequest("invalid restart policy: maximum retry count cannot be negative");
    }
    if (policy.Name !== "on-failure" && (policy.MaximumRetryCount ?? 0) > 0) {
      throw badRequest(
        `invalid restart policy: maximum retry count can only be used with 'on-failure'`,
      );
    }
    if (host.AutoRemove && policy.Name && policy.Name !== "no") {
      throw badRequest(
        `conflicting options: cannot specify both --restart and --rm`,
      );
    }
  }
  if (host.CgroupParent) {
    try {
      normalizeCgroupParent(host.CgroupParent);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  }
  if (host.Memory && host.Memory < 6 * 1024 * 1024) {
    throw badRequest("Minimum memory limit allowed is 6MB");
  }
  // MemorySwap is memory plus swap; -1 means unlimited swap.
  if ((host.MemorySwap ?? 0) > 0 && !host.Memory) {
    throw badRequest(
      "You should always set the Memory limit when using Memoryswap limit, see usage",
    );
  }
  if (host.Memory && (host.MemorySwap ?? 0) > 0 && host.MemorySwap! < host.Memory) {
    throw badRequest("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (host.NanoCpus && (host.CpuQuota || host.CpuPeriod)) {
    throw badRequest(
      "Conflicting options: Nano CPUs and CPU Period cannot both be set",
    );
  }
  if (host.NanoCpus && host.NanoCpus > navigator.hardwareConcurrency * 1e9) {
    throw badRequest(
      `Range of CPUs is from 0.01 to ${navigator.hardwareConcurrency}.00, as there are only ${navigator.hardwareConcurrency} CPUs available`,
    );
  }
  if (b.StopSignal && !SIGNAL_RE.test(b.StopSignal)) {
    throw badRequest(`invalid signal: ${b.StopSignal}`);
  }
  const network = host.NetworkMode || "default";
  if (!["none", "host"].includes(network)) {
    throw badRequest(
      `network mode "${network}" is not supported yet: berth has no default bridge network ` +
        `yet; use --network none or --network host`,
    );
  }
  const logType = host.LogConfig?.Type || "json-file";
  if (logType !== "json-file" && logType !== "none") {
    throw badRequest(
      `failed to create container: logger: no log driver named '${logType}' is registered`,
    );
  }
  if (host.Init) {
    throw badRequest(
      "--init is not supported yet: berth has no docker-init; run an init in the image instead",
    );
  }
  // Capabilities, security options, namespaces, mounts, devices, resources:
  // what start will put in the spec, refused now if any of it is wrong.
  hostSettings(host);
  return b;
}

function merged<T>(
  a: Record<string, T> | null | undefined,
  b: Record<string, T> | null | undefined,
) {
  const out = { ...(a ?? {}), ...(b ?? {}) };
  return Object.keys(out).length ? out : null;
}

/** The record of a new container: the request merged with the image's defaults, as Docker stores it. */
export function newRecord(opts: {
  id: string;
  name: string;
  body: ContainerCreateBody;
  imageId: string;
  image: ImageConfig;
  logPath: string;
  defaultLogOpts: Record<string, string>;
}): ContainerRecord {
  const { body, image } = opts;
  const ic = image.config ?? {};
  const { HostConfig: hostIn, NetworkingConfig: _net, ...configIn } = body;
  const command = mergeCommand(configIn, ic);
  const config: ContainerConfig = {
    Hostname: configIn.Hostname || opts.id.slice(0, 12),
    Domainname: configIn.Domainname ?? "",
    User: configIn.User || ic.User || "",
    AttachStdin: !!configIn.AttachStdin,
    AttachStdout: !!configIn.AttachStdout,
    AttachStderr: !!configIn.AttachStderr,
    ExposedPorts: merged(ic.ExposedPorts, configIn.ExposedPorts) ?? undefined,
    Tty: !!configIn.Tty,
    OpenStdin: !!configIn.OpenStdin,
    StdinOnce: !!configIn.StdinOnce,
    Env: mergeEnvLists(ic.Env, configIn.Env),
    Cmd: command.Cmd,
    Image: configIn.Image,
    Volumes: merged(ic.Volumes, configIn.Volumes),
    WorkingDir: configIn.WorkingDir || ic.WorkingDir || "",
    Entrypoint: command.Entrypoint,
    OnBuild: null,
    Labels: merged(ic.Labels, configIn.Labels) ?? {},
  };
  if (configIn.StopSignal || ic.StopSignal) {
    config.StopSignal = configIn.StopSignal || ic.StopSignal;
  }
  if (configIn.StopTimeout !== undefined && configIn.StopTimeout !== null) {
    config.StopTimeout = configIn.StopTimeout;
  }
  if (configIn.Healthcheck) config.Healthcheck = configIn.Healthcheck;
  if (!config.ExposedPorts) delete config.ExposedPorts;
  const argv = [...command.Entrypoint ?? [], ...command.Cmd ?? []];
  const host: HostConfig = {
    ...hostIn,
    NetworkMode: hostIn?.NetworkMode || "none",
    RestartPolicy: {
      Name: hostIn?.RestartPolicy?.Name || "no",
      MaximumRetryCount: hostIn?.RestartPolicy?.MaximumRetryCount ?? 0,
    },
    LogConfig: {
      Type: hostIn?.LogConfig?.Type || "json-file",
      Config: hostIn?.LogConfig?.Config ?? { ...opts.defaultLogOpts },
    },
    AutoRemove: !!hostIn?.AutoRemove,
    // As Docker: a memory limit without a swap limit allows as much swap again.
    ...(hostIn?.Memory && !hostIn.MemorySwap ? { MemorySwap: hostIn.Memory * 2 } : {}),
  };
  return {
    Id: opts.id,
    Name: opts.name,
    Created: new Date().toISOString(),
    Path: argv[0],
    Args: argv.slice(1),
    Config: config,
    HostConfig: host,
    Image: opts.imageId,
    State: initialState(),
    RestartCount: 0,
    HasBeenManuallyStopped: false,
    LogPath: host.LogConfig!.Type === "none" ? "" : opts.logPath,
    Networks: {},
    ExecIDs: [],
  };
}

/**
 * Entrypoint and Cmd as dockerd merges them with the image's (moby's merge
 * and mergeAndVerifyConfig): an entrypoint given at create drops the image's
 * Cmd, `[""]` (`--entrypoint ""`) resets the entrypoint, and nothing left to
 * run is the client's error.
 */
export function mergeCommand(
  own: { Entrypoint?: string[] | string | null; Cmd?: string[] | string | null },
  image: { Entrypoint?: string[] | null; Cmd?: string[] | null },
): { Cmd: string[] | null; Entrypoint: string[] | null } {
  let entrypoint = listOf(own.Entrypoint);
  let cmd = listOf(own.Cmd);
  if (!entrypoint?.length) {
    if (!cmd?.length) cmd = listOf(image.Cmd);
    if (entrypoint === undefined) entrypoint = listOf(image.Entrypoint);
  }
  if (entrypoint?.length === 1 && entrypoint[0] === "") entrypoint = undefined;
  if (!entrypoint?.length && !cmd?.length) throw badRequest("No command specified");
  return { Cmd: cmd ?? null, Entrypoint: entrypoint ?? null };
}

function listOf(v: string[] | string | null | undefined): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? [v] : v;
}

function mergeEnvLists(image: string[] | null | undefined, own: string[] | null | undefined) {
  const out = new Map<string, string>();
  for (const kv of [...(image ?? []), ...(own ?? [])]) {
    out.set(kv.includes("=") ? kv.slice(0, kv.indexOf("=")) : kv, kv);
  }
  return [...out.values()];
}

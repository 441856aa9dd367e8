/**
 * `docker info`: the client's facts, then the daemon's /info laid out line
 * by line as the Docker CLI's prettyPrintInfo does.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { formatObject } from "../opts.ts";
import { CLI_VERSION } from "../client.ts";
import { objectTemplate, runObject } from "../format.ts";
import { bytesSize } from "../units.ts";
import type { SystemInfo } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Display system-wide information",
  aliases: ["docker system info", "docker info"],
  flags: [formatObject("f")],
};

interface ClientInfo {
  Debug: boolean;
  Version: string;
  DefaultAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  BuildTime: string;
  Context: string;
  Plugins: unknown[];
  Warnings: string[] | null;
}

/** Go's fmt.Sprintln: operands separated by spaces, then a newline. */
function line(...parts: unknown[]): string {
  return parts.map((p) => String(p)).join(" ") + "\n";
}

function lineIf(label: string, value: unknown): string {
  return value === "" || value === undefined || value === null ? "" : line(label, value);
}

/** "name=seccomp,profile=builtin" → [{name, options}]. */
function securityOptions(opts: string[]): { name: string; profile?: string }[] {
  return opts.map((o) => {
    const kv = Object.fromEntries(
      o.split(",").map((p) => {
        const i = p.indexOf("=");
        return i < 0 ? [p, ""] : [p.slice(0, i), p.slice(i + 1)];
      }),
    );
    return { name: kv.name ?? o, profile: kv.profile };
  });
}

export function prettyClient(c: ClientInfo): string {
  return lineIf(" Version:   ", c.Version) + line(" Context:   ", c.Context) +
    line(" Debug Mode:", c.Debug);
}

/** The Server section of `docker info` (cli/command/system/info.go prettyPrintServerInfo). */
export function prettyServer(info: SystemInfo, clientDebug: boolean): string {
  const i = info as SystemInfo & Record<string, unknown>;
  let s = "";
  s += line(" Containers:", i.Containers);
  s += line("  Running:", i.ContainersRunning);
  s += line("  Paused:", i.ContainersPaused);
  s += line("  Stopped:", i.ContainersStopped);
  s += line(" Images:", i.Images);
  s += lineIf(" Server Version:", i.ServerVersion);
  s += lineIf(" Storage Driver:", i.Driver);
  for (const [k, v] of i.DriverStatus ?? []) s += `  ${k}: ${v}\n`;
  for (const [k, v] of (i.SystemStatus as [string, string][] | undefined) ?? []) {
    s += ` ${k}: ${v}\n`;
  }
  s += lineIf(" Logging Driver:", i.LoggingDriver);
  s += lineIf(" Cgroup Driver:", i.CgroupDriver);
  s += lineIf(" Cgroup Version:", i.CgroupVersion);
  s += line(" Plugins:");
  s += line("  Volume:", (i.Plugins?.Volume ?? []).join(" "));
  s += line("  Network:", (i.Plugins?.Network ?? []).join(" "));
  if (i.Plugins?.Authorization?.length) {
    s += line("  Authorization:", i.Plugins.Authorization.join(" "));
  }
  s += line("  Log:", (i.Plugins?.Log ?? []).join(" "));
  const cdi = (i.CDISpecDirs as string[] | undefined) ?? [];
  if (cdi.length) {
    s += line(" CDI spec directories:");
    for (const d of cdi) s += `  ${d}\n`;
  }
  s += line(" Swarm:", i.Swarm?.LocalNodeState ?? "");
  const runtimes = Object.keys(i.Runtimes ?? {});
  if (runtimes.length) {
    s += line(" Runtimes:", runtimes.join(" "));
    s += line(" Default Runtime:", i.DefaultRuntime);
  }
  if (i.OSType === "linux") {
    s += line(" Init Binary:", i.InitBinary);
    for (
      const [name, c] of [
        ["containerd", i.ContainerdCommit],
        ["runc", i.RuncCommit],
        ["init", i.InitCommit],
      ] as const
    ) {
      s += ` ${name} version: ${c?.ID ?? ""}`;
      if ((c?.ID ?? "") !== (c?.Expected ?? "")) s += ` (expected: ${c.Expected})`;
      s += "\n";
    }
    if (i.SecurityOptions?.length) {
      s += line(" Security Options:");
      for (const so of securityOptions(i.SecurityOptions)) {
        s += line("  " + so.name);
        if (so.profile !== undefined) s += line("   Profile:", so.profile);
      }
    }
  }
  if (i.OSType === "windows") s += ` Default Isolation: ${i.Isolation}\n`;
  s += lineIf(" Kernel Version:", i.KernelVersion);
  s += lineIf(" Operating System:", i.OperatingSystem);
  s += lineIf(" OSType:", i.OSType);
  s += lineIf(" Architecture:", i.Architecture);
  s += line(" CPUs:", i.NCPU);
  s += line(" Total Memory:", bytesSize(i.MemTotal ?? 0));
  s += lineIf(" Name:", i.Name);
  s += lineIf(" ID:", i.ID);
  s += line(" Docker Root Dir:", i.DockerRootDir);
  s += line(" Debug Mode:", i.Debug);
  if (i.Debug || clientDebug) {
    s += line("  File Descriptors:", i.NFd);
    s += line("  Goroutines:", i.NGoroutines);
    s += line("  System Time:", i.SystemTime);
    s += line("  EventsListeners:", i.NEventsListener);
  }
  s += lineIf(" HTTP Proxy:", i.HttpProxy);
  s += lineIf(" HTTPS Proxy:", i.HttpsProxy);
  s += lineIf(" No Proxy:", i.NoProxy);
  if (i.Labels?.length) {
    s += line(" Labels:");
    for (const l of i.Labels) s += line("  " + l);
  }
  s += line(" Experimental:", i.ExperimentalBuild);
  const reg = i.RegistryConfig;
  const indexConfigs = Object.values(reg?.IndexConfigs ?? {}) as {
    Name: string;
    Secure: boolean;
  }[];
  if (reg && (reg.InsecureRegistryCIDRs?.length || indexConfigs.length)) {
    s += line(" Insecure Registries:");
    for (const r of indexConfigs) if (!r.Secure) s += line("  " + r.Name);
    for (const cidr of reg.InsecureRegistryCIDRs ?? []) s += `  ${cidr}\n`;
  }
  if (reg?.Mirrors?.length) {
    s += line(" Registry Mirrors:");
    for (const m of reg.Mirrors) s += line("  " + m);
  }
  s += line(" Live Restore Enabled:", i.LiveRestoreEnabled);
  if (i.ProductLicense) s += line(" Product License:", i.ProductLicense);
  s += "\n";
  return s;
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const format = opts.values.format as string;
  const tmpl = format ? objectTemplate(format) : undefined;
  const arch = ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ??
    Deno.build.arch;
  const client = cli.client;
  const clientInfo: ClientInfo = {
    Debug: cli.globals.debug,
    Version: CLI_VERSION,
    DefaultAPIVersion: client.defaultVersion,
    GitCommit: "berth",
    GoVersion: `deno${Deno.version.deno}`,
    Os: "linux",
    Arch: arch,
    BuildTime: "",
    Context: "default",
    Plugins: [],
    Warnings: null,
  };
  let info: SystemInfo | undefined;
  let failure: unknown;
  try {
    info = await client.json<SystemInfo>("GET", "/info");
  } catch (e) {
    failure = e;
  }
  if (tmpl) {
    if (failure) throw failure;
    // Go's dockerInfo: the fields by their Go names (HTTPProxy for HttpProxy), unknown ones
    // an error rather than "<no value>"; marshalled back under the JSON names.
    const json = { ...info, ClientInfo: clientInfo } as Record<string, unknown>;
    const data: Record<string, unknown> = {
      ...json,
      goType: "system.dockerInfo",
      HTTPProxy: json.HttpProxy ?? "",
      HTTPSProxy: json.HttpsProxy ?? "",
      NoProxy: json.NoProxy ?? "",
      toJSON: () => json,
    };
    cli.out(runObject(tmpl, data) + "\n");
    return 0;
  }
  cli.out("Client:\n" + prettyClient(clientInfo) + "\nServer:\n");
  if (failure) throw failure;
  cli.out(prettyServer(info!, clientInfo.Debug));
  for (const w of info!.Warnings ?? []) cli.err(w + "\n");
  return 0;
}

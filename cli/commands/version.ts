/**
 * `docker version`: the client's and the server's versions, laid out by the
 * Docker CLI's own template through tabwriter(20, 1, 1).
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { formatObject } from "../opts.ts";
import { CLI_VERSION } from "../client.ts";
import { objectTemplate, PartialOutput, runObject } from "../format.ts";
import { tabwrite, VERSION_TABLE } from "../table.ts";
import type { SystemVersion } from "../../daemon/api/types.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS]",
  short: "Show the Docker version information",
  flags: [formatObject("f")],
};

/** The Docker CLI's default template (cli/command/system/version.go). */
const DEFAULT_TEMPLATE = `{{with .Client -}}
Client:{{if .Platform}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Go version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

/** Go's clientVersion: template fields and JSON keys differ (APIVersion / ApiVersion). */
class ClientVersion {
  readonly goType = "system.clientVersion";
  Platform: { Name: string } | null = null;
  Version = CLI_VERSION;
  GitCommit = "berth";
  GoVersion = `deno${Deno.version.deno}`;
  Os = "linux";
  Arch = ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ??
    Deno.build.arch;
  BuildTime = "";
  Context = "default";
  constructor(public APIVersion: string, public DefaultAPIVersion: string) {}

  toString(): string {
    return `{<nil> ${this.Version} ${this.APIVersion} ${this.DefaultAPIVersion} ${this.GitCommit} ` +
      `${this.GoVersion} ${this.Os} ${this.Arch} ${this.BuildTime} ${this.Context}}`;
  }

  toJSON() {
    return {
      ...(this.Platform ? { Platform: this.Platform } : {}),
      Version: this.Version,
      ApiVersion: this.APIVersion,
      DefaultAPIVersion: this.DefaultAPIVersion,
      GitCommit: this.GitCommit,
      GoVersion: this.GoVersion,
      Os: this.Os,
      Arch: this.Arch,
      BuildTime: this.BuildTime,
      Context: this.Context,
    };
  }
}

/** The server's answer in Go's field order, empty optional fields left out. */
function serverJson(v: SystemVersion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Platform: v.Platform,
    // Details is a Go map: its JSON keys come sorted.
    Components: v.Components?.map((c) => ({
      ...c,
      ...(c.Details
        ? {
          Details: Object.fromEntries(Object.entries(c.Details).sort(([a], [b]) => a < b ? -1 : 1)),
        }
        : {}),
    })),
    Version: v.Version,
    ApiVersion: v.ApiVersion,
    MinAPIVersion: v.MinAPIVersion,
    GitCommit: v.GitCommit,
    GoVersion: v.GoVersion,
    Os: v.Os,
    Arch: v.Arch,
    KernelVersion: v.KernelVersion,
  };
  if (v.Experimental) out.Experimental = v.Experimental;
  if (v.BuildTime) out.BuildTime = v.BuildTime;
  return out;
}

/** The server's answer as the template sees it: Go's types.Version (APIVersion, not ApiVersion). */
class ServerVersion {
  readonly goType = "*types.Version";
  Platform: unknown;
  Components: unknown;
  Version: unknown;
  APIVersion: unknown;
  MinAPIVersion: unknown;
  GitCommit: unknown;
  GoVersion: unknown;
  Os: unknown;
  Arch: unknown;
  KernelVersion: unknown;
  Experimental: unknown;
  BuildTime: unknown;
  constructor(private json: Record<string, unknown>) {
    this.Platform = json.Platform ?? { Name: "" };
    this.Components = json.Components ?? [];
    this.Version = json.Version ?? "";
    this.APIVersion = json.ApiVersion ?? "";
    this.MinAPIVersion = json.MinAPIVersion ?? "";
    this.GitCommit = json.GitCommit ?? "";
    this.GoVersion = json.GoVersion ?? "";
    this.Os = json.Os ?? "";
    this.Arch = json.Arch ?? "";
    this.KernelVersion = json.KernelVersion ?? "";
    this.Experimental = json.Experimental ?? false;
    this.BuildTime = json.BuildTime ?? "";
  }
  toJSON() {
    return this.json;
  }
}

class VersionInfo {
  readonly goType = "system.versionInfo";
  Server: ServerVersion | null;
  constructor(public Client: ClientVersion, server: Record<string, unknown> | null) {
    this.Server = server ? new ServerVersion(server) : null;
  }
  ServerOK(): boolean {
    return this.Server !== null;
  }
  toJSON() {
    return { Client: this.Client, Server: this.Server };
  }
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const format = opts.values.format as string;
  // Parsed before the daemon is contacted, as the CLI does.
  const tmpl = objectTemplate(format || DEFAULT_TEMPLATE, "version", { getDetailsOrder });
  const client = cli.client;
  let server: SystemVersion | null = null;
  let failure: unknown;
  try {
    await client.negotiate();
    server = await client.json<SystemVersion>("GET", "/version");
  } catch (e) {
    failure = e;
  }
  const info = new VersionInfo(
    new ClientVersion(client.version, client.defaultVersion),
    server ? serverJson(server) : null,
  );
  let text = "";
  let execError: unknown;
  try {
    text = runObject(tmpl, info);
  } catch (e) {
    // What was written before the error is printed, as through the CLI's tabwriter.
    if (e instanceof PartialOutput) text = e.partial;
    execError = e;
  }
  cli.out(tabwrite(text + "\n", VERSION_TABLE));
  if (execError) throw execError;
  if (failure) throw failure;
  return 0;
}

/** Registered with the template: the detail keys of a component, sorted. */
export function getDetailsOrder(c: { Details?: Record<string, string> }): string[] {
  return Object.keys(c.Details ?? {}).sort();
}

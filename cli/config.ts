/**
 * The client's config directory and config.json, as the Docker CLI keeps
 * them: --config, else DOCKER_CONFIG, else ~/.docker; `auths` holds base64
 * "user:password" per registry; the file is written with tab indentation and
 * mode 0600, and keys this client does not know are kept.
 */

export const INDEX_SERVER = "https://index.docker.io/v1/";

export interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

export interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  psFormat?: string;
  imagesFormat?: string;
  statsFormat?: string;
  detachKeys?: string;
  currentContext?: string;
  credsStore?: string;
  [key: string]: unknown;
}

export function defaultConfigDir(): string {
  const env = Deno.env.get("DOCKER_CONFIG");
  if (env) return env;
  const home = Deno.env.get("HOME") ?? "/root";
  return `${home}/.docker`;
}

export class Config {
  readonly path: string;
  private cached?: ConfigFile;

  constructor(readonly dir: string) {
    this.path = `${dir}/config.json`;
  }

  /** The parsed file; an empty config if there is none. */
  load(): ConfigFile {
    if (this.cached) return this.cached;
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return this.cached = {};
      throw e;
    }
    try {
      this.cached = text.trim() ? JSON.parse(text) : {};
    } catch (e) {
      throw new Error(`loading config file: ${this.path}: ${(e as Error).message}`);
    }
    return this.cached!;
  }

  /**
   * Writes the file atomically (temp file + rename), mode 0600, laid out as
   * the CLI's ConfigFile struct marshals: its fields in their order, map keys
   * sorted; keys it does not know follow.
   */
  save(cfg: ConfigFile): void {
    Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    Deno.writeTextFileSync(tmp, JSON.stringify(ordered(cfg), null, "\t"), { mode: 0o600 });
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, this.path);
    this.cached = cfg;
  }
}

/** ConfigFile's fields in struct order (github.com/docker/cli/cli/config/configfile). */
const FIELD_ORDER = [
  "auths",
  "HttpHeaders",
  "psFormat",
  "imagesFormat",
  "networksFormat",
  "pluginsFormat",
  "volumesFormat",
  "statsFormat",
  "detachKeys",
  "credsStore",
  "credHelpers",
  "serviceInspectFormat",
  "servicesFormat",
  "tasksFormat",
  "secretFormat",
  "configFormat",
  "nodesFormat",
  "pruneFilters",
  "proxies",
  "experimental",
  "currentContext",
  "cliPluginsExtraDirs",
  "plugins",
  "aliases",
  "features",
];

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

function ordered(cfg: ConfigFile): ConfigFile {
  const out: ConfigFile = {};
  for (const k of FIELD_ORDER) {
    if (cfg[k] === undefined) continue;
    const v = cfg[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) &&
        ["auths", "credHelpers", "HttpHeaders"].includes(k)
      ? sortedKeys(v as Record<string, unknown>)
      : v;
  }
  for (const k of Object.keys(cfg)) if (!(k in out)) out[k] = cfg[k];
  return out;
}

/** The key a registry's credentials are stored under ("docker.io" → the index URL). */
export function registryKey(server: string): string {
  const s = server.replace(/\/+$/, "");
  if (
    s === "" || s === "docker.io" || s === "index.docker.io" || s === "registry-1.docker.io" ||
    s === "https://index.docker.io/v1" || s === "https://docker.io" ||
    s === "https://index.docker.io"
  ) {
    return INDEX_SERVER;
  }
  return s.replace(/^https?:\/\//, "");
}

/** The registry host of an image reference ("docker.io" when it names none). */
export function registryOfImage(ref: string): string {
  const first = ref.split("/")[0];
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return first;
  }
  return "docker.io";
}

/** The X-Registry-Auth header value for `server` (base64url JSON), or undefined. */
export function registryAuthHeader(cfg: ConfigFile, server: string): string | undefined {
  const key = registryKey(server);
  const entry = cfg.auths?.[key] ??
    Object.entries(cfg.auths ?? {}).find(([k]) => registryKey(k) === key)?.[1];
  if (!entry) return undefined;
  const auth: Record<string, string> = { serveraddress: key };
  if (entry.auth) {
    const decoded = atob(entry.auth);
    const i = decoded.indexOf(":");
    auth.username = decoded.slice(0, i);
    auth.password = decoded.slice(i + 1);
  }
  if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
  return base64url(JSON.stringify(auth));
}

export function base64url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * What a command runs with: the global options, the daemon client (made on
 * first use, so commands that need no daemon never resolve one), the config
 * file, and output helpers.
 */
import { Client, DEFAULT_HOST, type TlsOptions } from "./client.ts";
import { Config } from "./config.ts";
import { StatusError } from "./errors.ts";

export interface Globals {
  configDir: string;
  debug: boolean;
  logLevel: string;
  hosts: string[];
  context?: string;
  tls: boolean;
  tlsVerify: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

const te = new TextEncoder();

export function writeAllSync(w: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}

/** Where a command reads and writes: the process's stdio, or a test's buffers. */
export interface Input {
  read(p: Uint8Array): Promise<number | null>;
  isTerminal(): boolean;
}

export interface Output {
  write(p: Uint8Array): Promise<number>;
  writeSync(p: Uint8Array): number;
  isTerminal(): boolean;
}

export interface Io {
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

export function processIo(): Io {
  return { stdin: Deno.stdin, stdout: Deno.stdout, stderr: Deno.stderr };
}

export class Cli {
  private clientValue?: Client;
  private configValue?: Config;

  constructor(
    readonly globals: Globals,
    readonly path = "docker",
    readonly io: Io = processIo(),
  ) {}

  /** The same globals for another command path ("docker container ls"). */
  forCommand(path: string): Cli {
    const c = new Cli(this.globals, path, this.io);
    c.clientValue = this.clientValue;
    c.configValue = this.configValue;
    return c;
  }

  get config(): Config {
    return this.configValue ??= new Config(this.globals.configDir);
  }

  /** The daemon's address: -H, DOCKER_HOST, else the default socket. */
  hostAddress(): string {
    const g = this.globals;
    if (g.hosts.length > 1) {
      throw new StatusError(
        "Failed to initialize: unable to resolve docker endpoint: Specify only one -H",
        1,
      );
    }
    if (g.context !== undefined && g.hosts.length) {
      throw new StatusError("conflicting options: cannot specify both --host and --context", 1);
    }
    const context = g.context ?? Deno.env.get("DOCKER_CONTEXT") ??
      (g.hosts.length || Deno.env.get("DOCKER_HOST") ? undefined : this.currentContext());
    if (context && context !== "default" && !g.hosts.length) {
      throw new StatusError(
        `Failed to initialize: unable to resolve docker endpoint: context "${context}": ` +
          `context not found (berth's client knows only the "default" context)`,
        1,
      );
    }
    return g.hosts[0] ?? Deno.env.get("DOCKER_HOST") ?? DEFAULT_HOST;
  }

  private currentContext(): string | undefined {
    try {
      return this.config.load().currentContext || undefined;
    } catch {
      return undefined;
    }
  }

  private tlsOptions(): TlsOptions | undefined {
    const g = this.globals;
    const envVerify = !!Deno.env.get("DOCKER_TLS_VERIFY");
    const verify = g.tlsVerify || envVerify;
    if (!verify && !g.tls && !Deno.env.get("DOCKER_TLS")) return undefined;
    const certDir = Deno.env.get("DOCKER_CERT_PATH") || g.configDir;
    return {
      verify,
      caCert: g.tlsCaCert ?? `${certDir}/ca.pem`,
      cert: g.tlsCert ?? `${certDir}/cert.pem`,
      key: g.tlsKey ?? `${certDir}/key.pem`,
    };
  }

  get client(): Client {
    if (!this.clientValue) {
      const host = this.hostAddress();
      try {
        this.clientValue = new Client(host, {
          apiVersion: Deno.env.get("DOCKER_API_VERSION") || undefined,
          tls: this.tlsOptions(),
        });
      } catch (e) {
        throw new StatusError(
          `Failed to initialize: unable to resolve docker endpoint: ${(e as Error).message}`,
          1,
        );
      }
    }
    return this.clientValue;
  }

  out(s: string): void {
    writeAllSync(this.io.stdout, te.encode(s));
  }

  err(s: string): void {
    writeAllSync(this.io.stderr, te.encode(s));
  }

  /** Debug output (-D / --log-level debug), logrus-style on stderr. */
  debug(msg: string): void {
    if (this.globals.debug || this.globals.logLevel === "debug") {
      this.err(`DEBU[0000] ${msg}\n`);
    }
  }

  warn(msg: string): void {
    if (["debug", "info", "warn"].includes(this.globals.logLevel)) this.err(`WARNING: ${msg}\n`);
  }
}

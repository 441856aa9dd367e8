/**
 * `docker login`: the daemon checks the credentials (POST /auth), then they
 * go into config.json's `auths` as base64 "user:password" (or an identity
 * token), as the Docker CLI stores them without a credential helper.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { StatusError } from "../errors.ts";
import { INDEX_SERVER, registryKey } from "../config.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] [SERVER]",
  short: "Authenticate to a registry",
  long: "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
  flags: [
    {
      name: "password",
      short: "p",
      type: "string",
      usage: "Password or Personal Access Token (PAT)",
    },
    {
      name: "password-stdin",
      type: "bool",
      usage: "Take the Password or Personal Access Token (PAT) from stdin",
    },
    { name: "username", short: "u", type: "string", usage: "Username" },
  ],
  args: { max: 1 },
};

async function readStdin(cli: Cli): Promise<string> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await cli.io.stdin.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p])));
}

/** Reads a line from the terminal (echo off for passwords). */
async function prompt(cli: Cli, label: string, secret: boolean): Promise<string> {
  cli.out(label);
  let restore = () => {};
  if (secret && cli.io.stdin.isTerminal()) {
    const { makeStdinRaw } = await import("../terminal.ts");
    restore = await makeStdinRaw(cli);
  }
  try {
    let line = "";
    const buf = new Uint8Array(1);
    for (;;) {
      const n = await cli.io.stdin.read(buf);
      if (n === null) break;
      const c = String.fromCharCode(buf[0]);
      if (c === "\n" || c === "\r") break;
      if (c === "\x03") throw new StatusError("", 130);
      if (c === "\x7f") line = line.slice(0, -1);
      else line += c;
    }
    return line.trim();
  } finally {
    restore();
    if (secret) cli.out("\n");
  }
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const v = opts.values;
  let username = (v.username as string).trim();
  let password = v.password as string;
  if (password) {
    cli.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (v["password-stdin"]) {
    if (password) {
      throw new StatusError("--password and --password-stdin are mutually exclusive", 1);
    }
    if (!username) throw new StatusError("Must provide --username with --password-stdin", 1);
    password = (await readStdin(cli)).replace(/\r?\n$/, "").replace(/\r$/, "");
  }
  const server = opts.args[0] ?? INDEX_SERVER;
  const key = registryKey(server);
  const cfg = cli.config.load();
  const stored = cfg.auths?.[key];
  let storedUser = "", storedPassword = "";
  if (stored?.auth) {
    const decoded = atob(stored.auth);
    const i = decoded.indexOf(":");
    storedUser = decoded.slice(0, i);
    storedPassword = decoded.slice(i + 1);
  }
  const serverAddress = key;
  if (!username && !password && stored && (storedPassword || stored.identitytoken)) {
    // Existing credentials are tried first, as the CLI does.
    cli.err(
      `Authenticating with existing credentials... [Username: ${storedUser}]\n\n` +
        ` Info -> To login with a different account, run 'docker logout' followed by 'docker login'\n\n\n`,
    );
    username = storedUser;
    password = storedPassword;
  }
  if (!username || !password) {
    if (!cli.io.stdin.isTerminal()) {
      throw new StatusError("Error: Cannot perform an interactive login from a non TTY device", 1);
    }
    if (!username) {
      username =
        await prompt(cli, storedUser ? `Username (${storedUser}): ` : "Username: ", false) ||
        storedUser;
    }
    if (!username) throw new StatusError("Error: Non-null Username Required", 1);
    if (!password) password = await prompt(cli, "Password: ", true);
    if (!password) throw new StatusError("Error: Password Required", 1);
  }
  const res = await cli.client.json<{ Status?: string; IdentityToken?: string }>("POST", "/auth", {
    json: { username, password, serveraddress: serverAddress },
  });
  const entry: Record<string, string> = {};
  if (res?.IdentityToken) {
    entry.auth = btoa(`${username}:`);
    entry.identitytoken = res.IdentityToken;
  } else {
    entry.auth = btoa(unescape(encodeURIComponent(`${username}:${password}`)));
  }
  const changed = JSON.stringify(stored ?? {}) !== JSON.stringify(entry);
  cfg.auths = { ...cfg.auths, [key]: entry };
  cli.config.save(cfg);
  if (changed) {
    cli.err(
      `\nWARNING! Your credentials are stored unencrypted in '${cli.config.path}'.\n` +
        "Configure a credential helper to remove this warning. See\n" +
        "https://docs.docker.com/go/credential-store/\n\n",
    );
  }
  cli.out("Login Succeeded\n");
  return 0;
}

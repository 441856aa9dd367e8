/** `docker logout`: the registry's entry removed from config.json's `auths`. */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { INDEX_SERVER, registryKey } from "../config.ts";

export const spec: CommandSpec = {
  use: "[SERVER]",
  short: "Log out from a registry",
  long:
    "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
  flags: [],
  args: { max: 1 },
};

export function run(cli: Cli, opts: Parsed): Promise<number> {
  const server = opts.args[0] ?? INDEX_SERVER;
  const key = registryKey(server);
  const cfg = cli.config.load();
  cli.out(`Removing login credentials for ${key}\n`);
  const auths = { ...cfg.auths };
  let found = false;
  for (const k of Object.keys(auths)) {
    if (registryKey(k) === key) {
      delete auths[k];
      found = true;
    }
  }
  if (found || cfg.auths) {
    cfg.auths = auths;
    try {
      cli.config.save(cfg);
    } catch (e) {
      cli.err(`WARNING: could not erase credentials: ${key}: ${(e as Error).message}\n`);
    }
  }
  return Promise.resolve(0);
}

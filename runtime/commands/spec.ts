import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { defaultSpec } from "../spec/default.ts";

/** `spec [--bundle DIR]`: writes a least-privilege config.json; never overwrites one. */
const spec: Command = (_ctx, args) => {
  const { flags } = parseFlags(args, {
    bundle: { type: "string", short: "b" },
    rootless: { type: "boolean" },
  });
  if (flags.rootless) {
    throw new Error("--rootless specs need user namespaces, which berth does not support");
  }
  const path = `${flags.bundle ?? "."}/config.json`;
  try {
    Deno.writeTextFileSync(path, JSON.stringify(defaultSpec(), null, "\t") + "\n", {
      createNew: true,
      mode: 0o666,
    });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Error(`File ${path} exists. Remove it first`);
    }
    throw e;
  }
  return Promise.resolve(0);
};
export default spec;

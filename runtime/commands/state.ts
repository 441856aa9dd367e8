import type { Command } from "../context.ts";
import { parseFlags } from "../args.ts";
import { openContainer } from "../container/container.ts";
import { ociState } from "../container/state.ts";
import { oneId } from "./common.ts";

/** runc's state document: the OCI state plus rootfs, created and owner. */
const state: Command = (ctx, args) => {
  const { positionals } = parseFlags(args, {});
  const c = openContainer(ctx, oneId(positionals, "state"));
  const s = ociState(c.rec, c.status());
  const doc = {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: s.pid,
    status: s.status,
    bundle: s.bundle,
    rootfs: c.rec.rootfs,
    created: c.rec.created,
    owner: c.rec.owner,
    ...(s.annotations ? { annotations: s.annotations } : {}),
  };
  console.log(JSON.stringify(doc, null, "  "));
  return Promise.resolve(0);
};
export default state;

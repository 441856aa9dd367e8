/**
 * The OCI bundle of a task: `<state>/tasks/<ns>/<id>/config.json` from the
 * container's spec, and an empty `rootfs/` where the shim mounts the
 * request's rootfs mounts. Removal unmounts first: a bundle whose rootfs is
 * still a bind mount must never be deleted recursively (that would empty the
 * directory behind the mount).
 */
import { type Any, invalidArgument } from "../context.ts";

/** containerd's type URL for an OCI spec in an Any. */
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/** The OCI spec as far as task creation looks into it. */
export interface SpecLike {
  ociVersion?: string;
  process?: Record<string, unknown>;
  root?: { path?: string; readonly?: boolean };
  [key: string]: unknown;
}

/** Decodes and checks a container's spec; malformed specs are INVALID_ARGUMENT. */
export function parseSpec(any: Any | undefined, id: string): SpecLike {
  if (!any?.value?.length) throw invalidArgument(`container "${id}" has no spec`);
  if (any.type_url && !any.type_url.endsWith("/opencontainers/runtime-spec/1/Spec")) {
    throw invalidArgument(
      `container "${id}": spec has type ${any.type_url}, want ${SPEC_TYPE_URL}`,
    );
  }
  let spec: unknown;
  try {
    spec = JSON.parse(new TextDecoder().decode(any.value));
  } catch (e) {
    throw invalidArgument(`container "${id}": invalid spec: ${(e as Error).message}`);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw invalidArgument(`container "${id}": invalid spec: not a JSON object`);
  }
  const s = spec as SpecLike;
  if (typeof s.process !== "object" || s.process === null) {
    throw invalidArgument(`container "${id}": invalid spec: process is required`);
  }
  if (typeof s.root?.path !== "string" || !s.root.path) {
    throw invalidArgument(`container "${id}": invalid spec: root.path is required`);
  }
  return s;
}

/** Writes config.json and makes `rootfs/` (where rootfs mounts go) in an existing bundle dir. */
export function writeBundle(dir: string, spec: SpecLike): void {
  Deno.mkdirSync(`${dir}/rootfs`, { recursive: true, mode: 0o711 });
  const tmp = `${dir}/config.json.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(spec));
  Deno.renameSync(tmp, `${dir}/config.json`);
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below `dir` in our mount namespace, deepest first. */
export function mountsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const mp = line ? unescapeMount(line.split(" ")[4]) : "";
    if (mp === dir || mp.startsWith(dir + "/")) out.push(mp);
  }
  return out.reverse();
}

/** Unmounts everything at or below `dir` (lazily, as containerd's shim does at cleanup). */
export async function unmountBelow(dir: string): Promise<void> {
  for (const mp of mountsBelow(dir)) {
    await new Deno.Command("umount", { args: ["-l", mp], stdout: "null", stderr: "null" })
      .output().catch(() => {});
  }
}

/** Unmounts what is left below the bundle, then removes it; refuses while mounts remain. */
export async function removeBundle(dir: string): Promise<void> {
  await unmountBelow(dir);
  if (mountsBelow(dir).length) throw new Error(`mounts remain below ${dir}: not removing it`);
  try {
    await Deno.remove(dir, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * OCI bundles for the runtime tests: a busybox root filesystem (the static
 * busybox of Debian's busybox-static, one symlink per applet in /bin) and a
 * config.json made from berth's default spec.
 *
 * The root filesystem is built once per test process into a template
 * directory and copied (`cp -a`) into each bundle, so every test gets its own
 * writable copy cheaply.
 */
import { defaultSpec } from "../../runtime/spec/default.ts";
import type { Spec } from "../../runtime/spec/types.ts";
import { MARKER_ENV, mountsMentioning, TEST_CGROUP_PARENT } from "./leaks.ts";

export { MARKER_ENV, TEST_CGROUP_PARENT };

/** The host busybox that goes into every bundle. */
export const BUSYBOX = "/bin/busybox";

export interface BundleOptions {
  /** process.args (default `["true"]`). */
  args?: string[];
  /** process.terminal (default false). */
  terminal?: boolean;
  /**
   * linux.cgroupsPath: by default `/berth-test/<id>` when `id` is given, so
   * tests know where the cgroups are; `null` leaves it out of the config.
   */
  cgroupsPath?: string | null;
  /** The container id the bundle is meant for (only used for cgroupsPath). */
  id?: string;
  /** Called with the config before it is written; change it in place or return a new one. */
  mutate?: (spec: Spec) => Spec | void;
  /** Skip writing config.json (for tests of a missing or broken config). */
  noConfig?: boolean;
}

export interface Bundle {
  /** The bundle directory (absolute). */
  dir: string;
  /** `<dir>/rootfs`. */
  rootfs: string;
  /** `<dir>/config.json`. */
  config: string;
  /** The config written (after `mutate`), or undefined with `noConfig`. */
  spec?: Spec;
  /** Removes the bundle directory. */
  cleanup(): Promise<void>;
}

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "alice:x:1000:1000:alice:/home/alice:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");

const GROUP = [
  "root:x:0:",
  "tty:x:5:",
  "alice:x:1000:",
  "nogroup:x:65534:",
  "",
].join("\n");

let template: Promise<string> | undefined;

async function sh(cmd: string[]): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "null" }).output();
  const td = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}): ${td.decode(out.stderr)}`);
  }
  return td.decode(out.stdout);
}

async function buildTemplate(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-rootfs-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  const rootfs = `${dir}/rootfs`;
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc", "root", "home/alice", "mnt"]) {
    await Deno.mkdir(`${rootfs}/${d}`, { recursive: true });
  }
  await Deno.chmod(`${rootfs}/tmp`, 0o1777);
  await Deno.chown(`${rootfs}/home/alice`, 1000, 1000);
  await Deno.copyFile(BUSYBOX, `${rootfs}/bin/busybox`);
  await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
  const applets = (await sh([BUSYBOX, "--list"])).split("\n").filter((a) => a && a !== "busybox");
  for (const applet of applets) await Deno.symlink("busybox", `${rootfs}/bin/${applet}`);
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, PASSWD);
  await Deno.writeTextFile(`${rootfs}/etc/group`, GROUP);
  await Deno.writeTextFile(`${rootfs}/etc/hostname`, "berth-test\n");
  return rootfs;
}

/** The cached template root filesystem (built on first use). */
export function templateRootfs(): Promise<string> {
  template ??= buildTemplate();
  return template;
}

/** Removes the template now (if built); the next templateRootfs() builds a new one. */
export async function removeTemplateRootfs(): Promise<void> {
  const built = template;
  template = undefined;
  if (built) await removeTree((await built).replace(/\/rootfs$/, ""));
}

/** A short random suffix for container ids and names. */
export function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** A container id unique to this test run: `<prefix>-<random>`. */
export function uniqueId(prefix = "t"): string {
  return `${prefix}-${randomSuffix()}`;
}

/** The spec tests start from: berth's default with `terminal` false and `args`. */
export function testSpec(opts: BundleOptions = {}, dir = ""): Spec {
  const spec = defaultSpec({ args: opts.args ?? ["true"], terminal: opts.terminal ?? false });
  spec.process!.env!.push(`${MARKER_ENV}=${dir}`);
  const cgroupsPath = opts.cgroupsPath === undefined
    ? (opts.id ? `${TEST_CGROUP_PARENT}/${opts.id}` : undefined)
    : opts.cgroupsPath ?? undefined;
  if (cgroupsPath) spec.linux!.cgroupsPath = cgroupsPath;
  return spec;
}

/** Writes `spec` as the bundle's config.json. */
export async function writeConfig(bundle: Bundle, spec: Spec): Promise<void> {
  bundle.spec = spec;
  await Deno.writeTextFile(bundle.config, JSON.stringify(spec, null, 2) + "\n");
}

/**
 * Removes a test directory, after lazily unmounting anything still mounted
 * below it (so a leaked bind mount never makes the removal reach into the
 * host directory behind it).
 */
export async function removeTree(dir: string): Promise<void> {
  const mounts = mountsMentioning([dir]).map((m) => m.mountPoint)
    .filter((mp) => mp === dir || mp.startsWith(dir + "/")).reverse();
  for (const mp of mounts) {
    await new Deno.Command("umount", { args: ["-l", mp], stdout: "null", stderr: "null" })
      .output().catch(() => {});
  }
  if (mountsMentioning([dir]).some((m) => m.mountPoint.startsWith(dir + "/"))) {
    throw new Error(`mounts remain below ${dir}: not removing it`);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Builds a fresh busybox bundle in a new temporary directory. */
export async function makeBundle(opts: BundleOptions = {}): Promise<Bundle> {
  const tpl = await templateRootfs();
  const dir = await Deno.makeTempDir({ prefix: "berth-test-bundle-" });
  const rootfs = `${dir}/rootfs`;
  await sh(["cp", "-a", tpl, rootfs]);
  const bundle: Bundle = {
    dir,
    rootfs,
    config: `${dir}/config.json`,
    cleanup: () => removeTree(dir),
  };
  if (!opts.noConfig) {
    let spec = testSpec(opts, dir);
    spec = opts.mutate?.(spec) ?? spec;
    await writeConfig(bundle, spec);
  }
  return bundle;
}

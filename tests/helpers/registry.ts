/**
 * Registries for the image tests, on loopback only: Debian's
 * `docker-registry serve` with a temporary storage directory (optionally
 * with htpasswd basic auth, bcrypt hashed), and skopeo to push OCI layouts
 * into it.
 */
// A test-only dependency (htpasswd's bcrypt hashes), kept out of the import map.
// deno-lint-ignore no-import-prefix
import bcrypt from "npm:bcryptjs@3.0.3";

export interface TestRegistry {
  /** `127.0.0.1:PORT` (a registry domain). */
  host: string;
  port: number;
  dir: string;
  /** Kills the registry and removes its storage. */
  stop(): Promise<void>;
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function startRegistry(
  opts: { user?: string; password?: string } = {},
): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "berth-registry-" });
  const port = freePort();
  let auth = "";
  if (opts.user !== undefined) {
    const hash = bcrypt.hashSync(opts.password ?? "", 5);
    await Deno.writeTextFile(`${dir}/htpasswd`, `${opts.user}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${dir}/htpasswd\n`;
  }
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`,
  );
  const proc = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  (async () => {
    for await (const c of proc.stderr) stderr += new TextDecoder().decode(c);
  })().catch(() => {});
  const stop = async () => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
    await proc.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`docker-registry did not start:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { host: `127.0.0.1:${port}`, port, dir, stop };
}

/** `skopeo copy` of an OCI layout (`DIR:REF`, or `DIR` alone) to a registry reference. */
export async function skopeoPush(
  layout: string,
  dest: string,
  opts: { creds?: string; all?: boolean } = {},
): Promise<void> {
  const args = ["copy", "--quiet", "--dest-tls-verify=false"];
  if (opts.creds) args.push("--dest-creds", opts.creds);
  if (opts.all) args.push("--all");
  args.push("--preserve-digests", `oci:${layout}`, `docker://${dest}`);
  const out = await new Deno.Command("skopeo", { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`skopeo ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

import assert from "node:assert/strict";
import { ConfigError, loadSpec, validateSpec } from "./validate.ts";
import type { Spec } from "./types.ts";

function base(): Spec {
  return {
    ociVersion: "1.2.0",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/", env: ["PATH=/bin"] },
    hostname: "h",
    linux: { namespaces: [{ type: "mount" }, { type: "uts" }, { type: "pid" }] },
  };
}

function rejects(mutate: (s: Spec) => void, pattern: RegExp) {
  const s = base();
  mutate(s);
  assert.throws(() => validateSpec(s), (e: Error) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("a minimal valid config passes", () => {
  assert.deepEqual(validateSpec(base()), []);
});

Deno.test("each problem is named by its field", () => {
  rejects((s) => (s.ociVersion = "2.0.0"), /ociVersion: unsupported version/);
  rejects((s) => delete (s as Partial<Spec>).root, /root\.path: is required/);
  rejects((s) => (s.process!.args = []), /process\.args: must not be empty/);
  rejects((s) => (s.process!.cwd = "relative"), /process\.cwd: must be an absolute path/);
  rejects((s) => (s.process!.user.uid = -1), /process\.user\.uid: must be a non-negative integer/);
  rejects(
    (s) => (s.process!.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }]),
    /rlimits\[0\]\.type: unknown rlimit/,
  );
  rejects(
    (s) => (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2, hard: 1 }]),
    /soft limit 2 is above the hard limit 1/,
  );
  rejects((s) => (s.process!.oomScoreAdj = 5000), /oomScoreAdj/);
  rejects(
    (s) => (s.process!.capabilities = { effective: ["CAP_KILL"], permitted: [] }),
    /process\.capabilities\.effective: CAP_KILL must also be in permitted/,
  );
  rejects(
    (s) => (s.process!.capabilities = { bounding: ["CAP_BOGUS"] }),
    /process\.capabilities: .*CAP_BOGUS/,
  );
  rejects(
    (s) => (s.process!.apparmorProfile = "docker-default"),
    /apparmorProfile: AppArmor is not supported/,
  );
  rejects(
    (s) => s.linux!.namespaces!.push({ type: "user" }),
    /namespaces\[3\]: user namespaces are not supported/,
  );
  rejects((s) => s.linux!.namespaces!.push({ type: "pid" }), /namespace "pid" is listed twice/);
  rejects(
    (s) => s.linux!.namespaces!.push({ type: "bogus" as "pid" }),
    /unknown namespace "bogus"/,
  );
  rejects(
    (s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]),
    /linux\.uidMappings/,
  );
  rejects(
    (s) => (s.linux!.sysctl = { "kernel.panic": "1" }),
    /sysctl\.kernel\.panic: is not namespaced/,
  );
  rejects(
    (s) => (s.linux!.sysctl = { "net.ipv4.ip_forward": "1" }),
    /needs a new network namespace/,
  );
  rejects(
    (s) => (s.linux!.devices = [{ type: "c", path: "/etc/passwd", major: 1, minor: 3 }]),
    /devices\[0\]\.path: must be a path under \/dev/,
  );
  rejects(
    (s) => (s.linux!.devices = [{ type: "c", path: "/dev/../etc/x", major: 1, minor: 3 }]),
    /devices\[0\]\.path/,
  );
  rejects(
    (s) => (s.linux!.rootfsPropagation = "sideways"),
    /rootfsPropagation: unknown propagation/,
  );
  rejects(
    (s) => (s.mounts = [{ destination: "/a/../../etc", type: "tmpfs" }]),
    /mounts\[0\]\.destination: .* must not contain "\.\."/,
  );
  rejects(
    (s) => (s.hooks = { prestart: [{ path: "relative" }] }),
    /hooks\.prestart\[0\]\.path: must be an absolute path/,
  );
  rejects(
    (s) => (s.linux!.namespaces = [{ type: "mount" }]),
    /hostname: needs a new uts namespace/,
  );
});

Deno.test("loadSpec: missing file, bad JSON, missing rootfs", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(() => loadSpec(dir), /config\.json does not exist/);
    Deno.writeTextFileSync(`${dir}/config.json`, "{ not json");
    assert.throws(() => loadSpec(dir), /is not valid JSON/);
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(base()));
    assert.throws(() => loadSpec(dir), /root\.path: rootfs .* does not exist/);
    Deno.mkdirSync(`${dir}/rootfs`);
    assert.equal(loadSpec(dir).rootfs, Deno.realPathSync(`${dir}/rootfs`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import {
  buildSpec,
  DOCKER_DEFAULT_CAPS,
  mergeEnv,
  namespaceModes,
  resolveCaps,
  resolveCommand,
  type SpecInput,
} from "./spec.ts";
import { ApiError } from "../api/errors.ts";
import { parseBind } from "./mounts.ts";
import { deviceCgroupRules, hostDevices } from "./host_devices.ts";

Deno.test("entrypoint and cmd follow Docker's rules", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default"] };
  assert.deepEqual(resolveCommand({}, image), ["/entry", "default"]);
  assert.deepEqual(resolveCommand({ Cmd: ["x"] }, image), ["/entry", "x"]);
  // An entrypoint given at create drops the image's Cmd.
  assert.deepEqual(resolveCommand({ Entrypoint: ["/other"] }, image), ["/other"]);
  assert.deepEqual(resolveCommand({ Entrypoint: "sh", Cmd: "-c" }, {}), ["sh", "-c"]);
  assert.throws(() => resolveCommand({}, {}), (e: ApiError) => e.status === 400);
});

Deno.test("container env overrides the image's by key and PATH is always set", () => {
  assert.deepEqual(mergeEnv(["A=1", "PATH=/bin"], ["A=2", "B"]), ["A=2", "PATH=/bin", "B"]);
  assert.ok(mergeEnv([], []).some((e) => e.startsWith("PATH=/usr/local/sbin")));
});

Deno.test("cap-add and cap-drop work on Docker's default set", () => {
  assert.deepEqual(resolveCaps({}), DOCKER_DEFAULT_CAPS);
  const caps = resolveCaps({ CapAdd: ["NET_ADMIN"], CapDrop: ["chown", "CAP_KILL"] });
  assert.ok(caps.includes("CAP_NET_ADMIN"));
  assert.ok(!caps.includes("CAP_CHOWN") && !caps.includes("CAP_KILL"));
  assert.deepEqual(resolveCaps({ CapDrop: ["ALL"], CapAdd: ["SETUID"] }), ["CAP_SETUID"]);
  assert.ok(resolveCaps({ Privileged: true }).includes("CAP_SYS_ADMIN"));
  assert.throws(() => resolveCaps({ CapAdd: ["BOGUS"] }), /unknown capability: "CAP_BOGUS"/);
});

Deno.test("binds are parsed and bad ones refused", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const m = parseBind(`${dir}:/data:ro`);
    assert.equal(m.destination, "/data");
    assert.ok(m.options!.includes("ro"));
    assert.throws(() => parseBind("vol:/data"), /named volumes are not supported yet/);
    assert.throws(() => parseBind(`${dir}:rel`), /must be absolute/);
    assert.throws(() => parseBind(`${dir}:/d:bogus`), /invalid mode/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

const input = (host: SpecInput["host"]): SpecInput => ({
  id: "0123456789abcdef".repeat(4),
  config: { Cmd: ["true"], Tty: true, Env: ["X=1"] },
  host,
  image: { Env: ["PATH=/bin"] },
  rootfs: "/r",
  user: { uid: 0, gid: 0, additionalGids: [] },
  etc: { hostname: "/h", hosts: "/hs", resolvConf: "/rc" },
  cgroupsPath: "/berth/x",
});

Deno.test("the spec has Docker's defaults and honours HostConfig", () => {
  const s = buildSpec(input({ NetworkMode: "none", Memory: 64 << 20, NanoCpus: 5e8 }));
  assert.equal(s.hostname, "0123456789ab");
  assert.ok(s.process!.env!.includes("TERM=xterm"));
  assert.ok(s.linux!.namespaces!.some((n) => n.type === "network"));
  assert.equal(s.linux!.resources!.memory!.limit, 64 << 20);
  assert.equal(s.linux!.resources!.cpu!.quota, 50_000);
  assert.ok(s.linux!.seccomp);
  assert.ok(s.linux!.maskedPaths!.includes("/proc/kcore"));
  const host = buildSpec(input({ NetworkMode: "host", Privileged: true }));
  assert.ok(!host.linux!.namespaces!.some((n) => n.type === "network"));
  assert.equal(host.hostname, undefined);
  assert.equal(host.linux!.seccomp, undefined);
  assert.throws(
    () => buildSpec(input({ NetworkMode: "bridge" })),
    /network mode "bridge" is not supported yet/,
  );
});

Deno.test("device cgroup rules and namespace modes: parsed, or refused with Docker's words", () => {
  assert.deepEqual(deviceCgroupRules(["c 1:3 rwm", "b *:* m", "a *:* r"]), [
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: true, type: "b", major: null, minor: null, access: "m" },
    { allow: true, type: "a", major: null, minor: null, access: "r" },
  ]);
  assert.throws(() => deviceCgroupRules(["c 1:3 rwx"]), /invalid device cgroup format 'c 1:3 rwx'/);
  assert.throws(
    () => hostDevices([{ PathOnHost: "/dev/null", CgroupPermissions: "rwz" }]),
    /invalid device mode: rwz/,
  );
  assert.deepEqual(hostDevices([{ PathOnHost: "/dev/null", PathInContainer: "/dev/n2" }]).rules, [
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  ]);
  assert.deepEqual(namespaceModes({ PidMode: "host", IpcMode: "shareable" }), [
    ["pid", "host"],
    ["ipc", "shareable"],
    ["uts", ""],
  ]);
  assert.throws(() => namespaceModes({ UTSMode: "bogus" }), /invalid UTS mode: bogus/);
});

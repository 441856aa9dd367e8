import assert from "node:assert/strict";
import { endpointsFor, isInsecure } from "./endpoints.ts";
import {
  credentialsOf,
  decodeRegistryAuth,
  encodeRegistryAuth,
  normalizeServerAddress,
} from "./credentials.ts";
import { parseChallenges } from "./client.ts";

Deno.test("endpoints: mirrors for docker.io, insecure registries by host or CIDR", () => {
  assert.deepEqual(
    endpointsFor("docker.io", { registryMirrors: ["https://mirror.example:5000/"] }),
    [
      { url: "https://mirror.example:5000", insecureTls: false, mirror: true },
      { url: "https://registry-1.docker.io", insecureTls: false, mirror: false },
    ],
  );
  assert.deepEqual(endpointsFor("quay.io", { registryMirrors: ["https://m"] }), [
    { url: "https://quay.io", insecureTls: false, mirror: false },
  ]);
  assert.deepEqual(endpointsFor("reg.local:5000", { insecureRegistries: ["reg.local:5000"] }), [
    { url: "https://reg.local:5000", insecureTls: true, mirror: false },
    { url: "http://reg.local:5000", insecureTls: false, mirror: false },
  ]);
  assert.ok(isInsecure("127.0.0.1:5000", []));
  assert.ok(isInsecure("localhost:5000", []));
  assert.ok(isInsecure("10.1.2.3:5000", ["10.0.0.0/8"]));
  assert.ok(!isInsecure("11.1.2.3:5000", ["10.0.0.0/8"]));
  assert.ok(isInsecure("reg.local", ["http://reg.local"]));
  assert.ok(!isInsecure("example.com", []));
});

Deno.test("credentials: X-Registry-Auth and config.json forms", () => {
  const header = encodeRegistryAuth({ username: "a", password: "p?>~", serveraddress: "r" });
  assert.ok(!/[+/]/.test(header), "base64url");
  assert.deepEqual(credentialsOf(decodeRegistryAuth(header)!), { username: "a", password: "p?>~" });
  assert.equal(decodeRegistryAuth(""), undefined);
  assert.equal(decodeRegistryAuth(btoa("{}")), undefined);
  assert.throws(() => decodeRegistryAuth("!!!"), /invalid X-Registry-Auth header/);
  assert.deepEqual(credentialsOf({ auth: btoa("user:pa:ss") }), {
    username: "user",
    password: "pa:ss",
  });
  assert.deepEqual(credentialsOf({ identitytoken: "t" }), {
    identityToken: "t",
    username: undefined,
  });
  assert.equal(normalizeServerAddress("https://index.docker.io/v1/"), "docker.io");
  assert.equal(normalizeServerAddress("http://127.0.0.1:5000"), "127.0.0.1:5000");
});

Deno.test("WWW-Authenticate parsing", () => {
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/busybox:pull",
      },
    }],
  );
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
  ]);
});

import assert from "node:assert/strict";
import {
  CAPABILITIES,
  capabilityMask,
  capabilityNames,
  capabilityNumber,
  currentCapabilities,
  lastCap,
  validateCapabilities,
} from "./capabilities.ts";

const CAPS_MODULE = new URL("./capabilities.ts", import.meta.url).href;
const LIBC_MODULE = new URL("./libc.ts", import.meta.url).href;

/**
 * Runs `body` in a child Deno (capability changes cannot be undone), with
 * the module's exports, execve and `status()` (the main thread's Cap/Uid
 * lines) in scope. `setup` may create files in `dir`, which is removed after.
 */
async function child(
  body: string,
  setup?: (dir: string) => Promise<void>,
): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "berth-caps-" });
  try {
    await Deno.chmod(dir, 0o755); // the tests that switch uid must reach files in here
    await setup?.(dir);
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(
      script,
      `import * as caps from ${JSON.stringify(CAPS_MODULE)};
import { execve } from ${JSON.stringify(LIBC_MODULE)};
const dir = ${JSON.stringify(dir)};
const status = () => Deno.readTextFileSync("/proc/thread-self/status")
  .split("\\n").filter((l) => /^(Cap|Uid|Gid|Groups)/.test(l)).join("\\n");
const sh = (cmd: string): never => execve("/bin/busybox", ["sh", "-c", cmd], ["PATH=/bin"]);
void caps; void execve; void dir; void status; void sh;
${body}
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, out: text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The Cap* masks of a /proc/PID/status excerpt; `nth` picks the nth block. */
function caps(text: string, nth = 0): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  const blocks = text.split(/(?=^CapInh:)/m).filter((b) => b.startsWith("CapInh:"));
  for (const m of (blocks[nth] ?? "").matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)) {
    out[m[1]] = BigInt(`0x${m[2]}`);
  }
  return out;
}

const mask = (...names: string[]) => capabilityMask(names);

Deno.test("the capability table runs from CAP_CHOWN=0 to CAP_CHECKPOINT_RESTORE=40", () => {
  assert.equal(Object.keys(CAPABILITIES).length, 41);
  assert.equal(CAPABILITIES.CAP_CHOWN, 0);
  assert.equal(CAPABILITIES.CAP_SYS_ADMIN, 21);
  assert.equal(CAPABILITIES.CAP_CHECKPOINT_RESTORE, 40);
  assert.deepEqual(Object.values(CAPABILITIES), [...Array(41).keys()]);
  assert.equal(capabilityNumber("CAP_NET_BIND_SERVICE"), 10);
  for (const bad of ["CAP_FOO", "NET_BIND_SERVICE", "cap_chown", "toString"]) {
    assert.throws(() => capabilityNumber(bad), { message: `unknown capability "${bad}"` });
  }
});

Deno.test("capability masks and names convert both ways", () => {
  assert.equal(mask("CAP_CHOWN", "CAP_NET_BIND_SERVICE"), 0x401n);
  assert.deepEqual(capabilityNames(0x401n), ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]);
  assert.deepEqual(capabilityNames(1n << 45n), ["CAP_45"]);
  // Capabilities past the kernel's last one are left out of masks.
  assert.equal(capabilityMask(["CAP_CHOWN", "CAP_BPF"], 38), 1n);
});

Deno.test("validateCapabilities names the set of an unknown capability", () => {
  assert.deepEqual(
    validateCapabilities({ bounding: ["CAP_CHOWN"], effective: [], ambient: ["CAP_KILL"] }),
    [],
  );
  assert.throws(
    () => validateCapabilities({ bounding: ["CAP_CHOWN", "CAP_FOO"] }),
    { message: 'process.capabilities.bounding: unknown capability "CAP_FOO"' },
  );
  assert.throws(
    () => validateCapabilities({ permitted: ["CAP_KILL"], ambient: ["KILL"] }),
    { message: 'process.capabilities.ambient: unknown capability "KILL"' },
  );
  assert.throws(
    () => validateCapabilities({ effective: "CAP_KILL" as unknown as string[] }),
    { message: "process.capabilities.effective: must be an array of capability names" },
  );
});

Deno.test("validateCapabilities returns the capabilities the kernel lacks, once each", () => {
  const newer = ["CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"];
  assert.deepEqual(
    validateCapabilities({ bounding: ["CAP_CHOWN", ...newer], permitted: newer }, 37),
    newer,
  );
});

Deno.test("lastCap agrees with /proc/sys/kernel/cap_last_cap", () => {
  assert.equal(lastCap(), Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap")));
});

Deno.test("currentCapabilities reads this thread's sets", () => {
  const status = caps(Deno.readTextFileSync("/proc/thread-self/status"));
  const now = currentCapabilities();
  assert.equal(capabilityMask(now.effective), status.CapEff);
  assert.equal(capabilityMask(now.permitted), status.CapPrm);
  assert.equal(capabilityMask(now.inheritable), status.CapInh);
  assert.equal(capabilityMask(now.bounding), status.CapBnd);
  assert.equal(capabilityMask(now.ambient), status.CapAmb);
});

Deno.test("root keeps exactly its bounding set across execve; chown needs CAP_CHOWN", async () => {
  const setup = (dir: string) => Deno.writeTextFile(`${dir}/file`, "");
  for (const keep of [["CAP_CHOWN", "CAP_KILL"], ["CAP_KILL"]]) {
    const { code, out } = await child(
      `const keep = ${JSON.stringify(keep)};
caps.dropBoundingSet(keep);
caps.setCapabilities({ effective: keep, permitted: keep, inheritable: [] });
console.log(status());
console.log(JSON.stringify(caps.currentCapabilities()));
sh("grep ^Cap /proc/self/status; chown 1000 " + dir + "/file && echo chown-ok");`,
      setup,
    );
    assert.equal(code, keep.includes("CAP_CHOWN") ? 0 : 1, out);
    const want = mask(...keep);
    // The main thread's own sets, before execve.
    const before = caps(out, 0);
    assert.deepEqual(before, { CapInh: 0n, CapPrm: want, CapEff: want, CapBnd: want, CapAmb: 0n });
    const current = JSON.parse(out.split("\n").find((l) => l.startsWith("{"))!);
    assert.deepEqual(current.effective, keep);
    assert.deepEqual(current.bounding, keep);
    // After execve, uid 0 gets its whole bounding set.
    const after = caps(out, 1);
    assert.deepEqual(after, { CapInh: 0n, CapPrm: want, CapEff: want, CapBnd: want, CapAmb: 0n });
    if (keep.includes("CAP_CHOWN")) assert.match(out, /chown-ok/);
    else assert.match(out, /chown: .*file: Operation not permitted/);
  }
});

Deno.test("applyProcessCredentials: a non-root user keeps its ambient capabilities", async () => {
  const setup = (dir: string) => Deno.writeTextFile(`${dir}/file`, "");
  const set = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"];
  const { code, out } = await child(
    `const set = ${JSON.stringify(set)};
caps.applyProcessCredentials({ uid: 1000, gid: 1001, additionalGids: [10, 20],
  capabilities: { bounding: set, effective: set, permitted: set, inheritable: set, ambient: set } });
console.log(status());
sh("grep -E '^(Cap|Uid|Gid|Groups)' /proc/self/status; chown 1000 " + dir + "/file && echo chown-ok");`,
    setup,
  );
  assert.equal(code, 0, out);
  const want = mask(...set);
  for (const nth of [0, 1]) {
    assert.deepEqual(caps(out, nth), {
      CapInh: want,
      CapPrm: want,
      CapEff: want,
      CapBnd: want,
      CapAmb: want,
    });
  }
  assert.equal(out.match(/^Uid:\t1000\t1000\t1000\t1000$/gm)?.length, 2, out);
  assert.equal(out.match(/^Gid:\t1001\t1001\t1001\t1001$/gm)?.length, 2, out);
  assert.equal(out.match(/^Groups:\t10 20 ?$/gm)?.length, 2, out);
  assert.match(out, /chown-ok/);
});

Deno.test("applyProcessCredentials: a non-root user without ambient capabilities has none", async () => {
  const setup = (dir: string) => Deno.writeTextFile(`${dir}/file`, "");
  const set = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"];
  const { code, out } = await child(
    `const set = ${JSON.stringify(set)};
caps.applyProcessCredentials({ uid: 1000, gid: 1000, additionalGids: [],
  capabilities: { bounding: set, effective: set, permitted: set, inheritable: set } });
console.log(status());
sh("grep -E '^(Cap|Groups)' /proc/self/status; chown 1000 " + dir + "/file && echo chown-ok");`,
    setup,
  );
  assert.equal(code, 1, out);
  const want = mask(...set);
  // Before execve the thread still holds what capset gave it...
  assert.deepEqual(caps(out, 0), {
    CapInh: want,
    CapPrm: want,
    CapEff: want,
    CapBnd: want,
    CapAmb: 0n,
  });
  // ...but a non-root program gets only its ambient set.
  assert.deepEqual(caps(out, 1), {
    CapInh: want,
    CapPrm: 0n,
    CapEff: 0n,
    CapBnd: want,
    CapAmb: 0n,
  });
  assert.match(out, /^Groups:\s*$/m);
  assert.match(out, /chown: .*file: Operation not permitted/);
});

Deno.test("setCapabilities refuses effective outside permitted before changing anything", async () => {
  const { code, out } = await child(
    `try {
  caps.setCapabilities({ effective: ["CAP_CHOWN", "CAP_KILL"], permitted: ["CAP_KILL"] });
} catch (e) { console.log("error:", (e as Error).message); }
console.log(status());`,
  );
  assert.equal(code, 0, out);
  assert.match(
    out,
    /^error: process.capabilities.effective: CAP_CHOWN must also be in permitted$/m,
  );
  const before = caps(Deno.readTextFileSync("/proc/thread-self/status"));
  assert.equal(caps(out).CapEff, before.CapEff);
});

Deno.test("ambient capabilities that cannot be raised are skipped and reported, as runc does", async () => {
  const { code, out } = await child(
    `const skipped = caps.setCapabilities({
  permitted: ["CAP_CHOWN", "CAP_KILL"],
  inheritable: ["CAP_KILL"],
  ambient: ["CAP_CHOWN", "CAP_KILL"],
});
console.log("skipped:", skipped.join(","));
console.log(status());`,
  );
  assert.equal(code, 0, out);
  assert.match(out, /^skipped: CAP_CHOWN$/m);
  assert.equal(caps(out).CapAmb, 1n << 5n); // CAP_KILL only
});

Deno.test("capset and bounding-set errors say what the kernel refused", async () => {
  const { code, out } = await child(
    `caps.dropBoundingSet(["CAP_KILL", "CAP_SETPCAP"]);
try {
  caps.setCapabilities({ permitted: ["CAP_CHOWN", "CAP_KILL"], inheritable: ["CAP_CHOWN"] });
} catch (e) { console.log("error:", (e as Error).message); }
caps.setCapabilities({ effective: ["CAP_KILL"], permitted: ["CAP_KILL"] });
try {
  caps.setCapabilities({ effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] });
} catch (e) { console.log("error:", (e as Error).message); }
// Already out of the bounding set: nothing to drop, no CAP_SETPCAP needed.
caps.dropBoundingSet(["CAP_KILL", "CAP_SETPCAP"]);
try { caps.dropBoundingSet([]); } catch (e) { console.log("error:", (e as Error).message); }
console.log(status());`,
  );
  assert.equal(code, 0, out);
  assert.match(out, /^error: capset \(inheritable CAP_CHOWN not in the bounding set\): .*EPERM/m);
  assert.match(out, /^error: capset \(permitted would gain CAP_CHOWN, .*\): .*EPERM/m);
  assert.match(
    out,
    /^error: prctl\(PR_CAPBSET_DROP\) CAP_KILL \(dropping .* needs CAP_SETPCAP\): .*EPERM/m,
  );
  const want = mask("CAP_KILL");
  assert.deepEqual(caps(out), {
    CapInh: 0n,
    CapPrm: want,
    CapEff: want,
    CapBnd: mask("CAP_KILL", "CAP_SETPCAP"),
    CapAmb: 0n,
  });
});

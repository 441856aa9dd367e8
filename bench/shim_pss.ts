/**
 * PSS of berth's shims with idle containers (`sleep`, a json-file log each):
 * one shim with one container, N shims with one container each, and one shim
 * supervising a group of N containers.
 *
 *   deno run -A bench/shim_pss.ts [N]        (default N = 10)
 *
 * PSS (from /proc/PID/smaps_rollup) splits a shared page among the processes
 * that map it: the deno binary's text is shared by every shim (and by this
 * script), so the per-shim figure falls as shims are added; anonymous memory
 * (the V8 heap, the runtime's allocations) is each shim's own.
 */
import { makeBundle, uniqueId } from "../tests/helpers/bundle.ts";
import { deleteAll } from "../tests/helpers/runtime.ts";
import { type ShimClient, startShim } from "../shim/client.ts";

interface Mem {
  pss: number;
  anon: number;
}

function memOf(pid: number): Mem {
  const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0);
  return { pss: kb("Pss") / 1024, anon: kb("Pss_Anon") / 1024 };
}

const n = Number(Deno.args[0] ?? 10);
const work = await Deno.makeTempDir({ prefix: "berth-bench-shim-" });
const runtimeRoot = `${work}/runc`;
const bundles: { dir: string; cleanup(): Promise<void> }[] = [];
const shims: { client: ShimClient; pid: number }[] = [];

async function newShim(): Promise<{ client: ShimClient; pid: number }> {
  const dir = `${work}/shim-${shims.length}`;
  const client = await startShim(dir);
  const s = { client, pid: Number(Deno.readTextFileSync(`${dir}/shim.pid`)) };
  shims.push(s);
  return s;
}

async function idleContainer(shim: ShimClient): Promise<void> {
  const id = uniqueId("pss");
  const b = await makeBundle({ args: ["sleep", "100000"], id });
  bundles.push(b);
  await shim.call("create", {
    id,
    bundle: b.dir,
    stdio: { log: { path: `${b.dir}/json.log` } },
    runtimeRoot,
  });
  await shim.call("start", { id });
}

/** Sums the shims' memory after letting them settle. */
async function measure(label: string, of: { pid: number }[], containers: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  const mems = of.map((s) => memOf(s.pid));
  const pss = mems.reduce((a, m) => a + m.pss, 0);
  const anon = mems.reduce((a, m) => a + m.anon, 0);
  console.log(
    `${label.padEnd(36)} shims ${String(of.length).padStart(2)}  ` +
      `PSS total ${pss.toFixed(1).padStart(6)} MB (anon ${anon.toFixed(1)})  ` +
      `per container ${(pss / containers).toFixed(2)} MB`,
  );
}

async function stopAll(): Promise<void> {
  for (const s of shims.splice(0)) {
    s.client.close();
    try {
      Deno.kill(s.pid, "SIGKILL");
    } catch { /* gone */ }
  }
  await deleteAll(runtimeRoot).catch(() => {});
  for (const b of bundles.splice(0)) await b.cleanup();
}

try {
  const one = await newShim();
  await idleContainer(one.client);
  await measure("1 shim, 1 container", [one], 1);
  await stopAll();

  const each: { pid: number }[] = [];
  for (let i = 0; i < n; i++) {
    const s = await newShim();
    await idleContainer(s.client);
    each.push(s);
  }
  await measure(`${n} shims, 1 container each`, each, n);
  await stopAll();

  const group = await newShim();
  for (let i = 0; i < n; i++) await idleContainer(group.client);
  await measure(`1 shim, ${n} containers`, [group], n);
} finally {
  await stopAll();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

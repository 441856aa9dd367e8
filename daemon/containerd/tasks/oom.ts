/**
 * Whether a container's memory cgroup saw an OOM kill. The shim reports no
 * OOM events, so containerd looks when a container's init exits (its cgroup
 * is still there until the task is deleted): cgroup v1 memory.oom_control
 * or v2 memory.events, counter `oom_kill`.
 *
 * The cgroup path follows berth's runtime (runtime/cgroups/mod.ts): the
 * spec's linux.cgroupsPath below each hierarchy's root, "/berth/<id>" when
 * absent. Read here without loading the runtime's cgroup modules.
 */

function memoryRoot(): { dir: string; v2: boolean } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return undefined;
  }
  let v2: string | undefined;
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const [fstype, , opts] = post.split(" ");
    const mp = pre.split(" ")[4];
    if (fstype === "cgroup" && opts.split(",").includes("memory")) return { dir: mp, v2: false };
    if (fstype === "cgroup2" && mp === "/sys/fs/cgroup") v2 = mp;
  }
  return v2 ? { dir: v2, v2: true } : undefined;
}

/** The oom_kill count of the container's memory cgroup (0 when unknown). */
export function oomKills(bundle: string, id: string): number {
  try {
    const spec = JSON.parse(Deno.readTextFileSync(`${bundle}/config.json`));
    const raw: string = spec?.linux?.cgroupsPath || `/berth/${id}`;
    const path = "/" + raw.split("/").filter((p) => p && p !== "." && p !== "..").join("/");
    const root = memoryRoot();
    if (!root) return 0;
    const file = root.v2 ? "memory.events" : "memory.oom_control";
    const text = Deno.readTextFileSync(`${root.dir}${path}/${file}`);
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

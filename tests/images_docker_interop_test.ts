/**
 * Interoperability with Docker itself (Debian's docker.io 20.10, when
 * installed): a private dockerd on a temporary socket and data root loads
 * berth's `docker save` archive and runs a container from it (whiteouts,
 * opaque directory, setuid, ownership seen from inside), and berth loads
 * what that dockerd saves. Skipped when dockerd is not installed.
 */
import assert from "node:assert/strict";
import { ImageService } from "../daemon/images/service.ts";
import { loadImages } from "../daemon/images/load.ts";
import { saveImages } from "../daemon/images/save.ts";
import { inspectImage } from "../daemon/images/inspect.ts";
import { buildImage, ociArchive, richImageLayers, streamOf } from "./helpers/image_layers.ts";
import { removeTestCgroupParents, TEST_CGROUP_PARENT } from "./helpers/leaks.ts";

const DOCKERD = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

const T = { sanitizeOps: false, sanitizeResources: false, ignore: !DOCKERD } as const;

async function docker(sock: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", {
    args: ["-H", `unix://${sock}`, ...args],
    stdin: "null",
    env: { DOCKER_CONFIG: "/nonexistent" },
  }).output();
  const td = new TextDecoder();
  if (!out.success) throw new Error(`docker ${args.join(" ")}: ${td.decode(out.stderr)}`);
  return td.decode(out.stdout);
}

Deno.test("images: Docker 20.10 loads berth's save, berth loads Docker's", T, async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-dockerd-" });
  const sock = `${dir}/docker.sock`;
  const dockerd = new Deno.Command(DOCKERD!, {
    args: [
      "--host",
      `unix://${sock}`,
      "--data-root",
      `${dir}/root`,
      "--exec-root",
      `${dir}/exec`,
      "--pidfile",
      `${dir}/docker.pid`,
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
      // dockerd makes its parent cgroup at start: the tests' own, removed below.
      "--cgroup-parent",
      TEST_CGROUP_PARENT,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await docker(sock, ["version"]);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const svc = new ImageService({ root: `${dir}/berth`, dockerConfigPath: null });
    const img = await buildImage({ layers: richImageLayers() });
    await loadImages(svc, streamOf(await ociArchive([{ img, name: "docker.io/library/rich:v1" }])));
    await Deno.writeFile(
      `${dir}/berth.tar`,
      new Uint8Array(await new Response(saveImages(svc, ["rich:v1"])).arrayBuffer()),
    );

    assert.match(await docker(sock, ["load", "-i", `${dir}/berth.tar`]), /Loaded image: rich:v1/);
    assert.equal(
      (await docker(sock, ["inspect", "--format", "{{.Id}}", "rich:v1"])).trim(),
      img.configDigest,
    );
    const out = await docker(sock, [
      "run",
      "--rm",
      "--network",
      "none",
      "rich:v1",
      "sh",
      "-c",
      "cat /etc/motd; ls /data; test -e /old || echo no-old; stat -c '%a %u:%g' /usr/bin/suid /owned",
    ]);
    assert.equal(out, "layer 3\nc\nno-old\n4755 0:0\n640 1000:1000\n");

    await docker(sock, ["tag", "rich:v1", "rich:from-docker"]);
    await docker(sock, ["save", "-o", `${dir}/docker.tar`, "rich:from-docker"]);
    const fresh = new ImageService({ root: `${dir}/berth2`, dockerConfigPath: null });
    const r = await loadImages(fresh, (await Deno.open(`${dir}/docker.tar`)).readable);
    assert.deepEqual(r.tags, ["rich:from-docker"]);
    assert.equal(r.ids[0], img.configDigest);
    assert.deepEqual((await inspectImage(fresh, "rich:from-docker")).RootFS.Layers, img.diffIds);
  } finally {
    try {
      dockerd.kill("SIGTERM");
    } catch { /* gone */ }
    await dockerd.status;
    // dockerd's own containerd exits with it; nothing stays mounted under dir.
    await new Deno.Command("umount", { args: ["-R", `${dir}/root`], stderr: "null" }).output();
    await Deno.remove(dir, { recursive: true });
    removeTestCgroupParents();
  }
});

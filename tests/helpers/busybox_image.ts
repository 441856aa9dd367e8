/**
 * The busybox test image for dockerd tests: Debian's static busybox with
 * every applet it lists as a symlink, /etc/passwd and /etc/group with root,
 * a user and nobody, and /tmp. Made once per test process; as an OCI
 * archive `docker load` takes, or loaded straight into a data root before
 * a dockerd starts.
 */
import { buildImage, type BuiltImage, BUSYBOX, ociArchive, type TarEntry } from "./image_layers.ts";
import { ImageService, loadImages } from "../../daemon/images/mod.ts";

let built: Promise<BuiltImage> | undefined;

function applets(): string[] {
  const out = new Deno.Command(BUSYBOX, { args: ["--list-full"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l && l !== "bin/busybox");
}

export function busyboxImage(): Promise<BuiltImage> {
  built ??= (async () => {
    const entries: TarEntry[] = [
      { name: "bin/", type: "directory" },
      { name: "sbin/", type: "directory" },
      { name: "usr/", type: "directory" },
      { name: "usr/bin/", type: "directory" },
      { name: "usr/sbin/", type: "directory" },
      { name: "bin/busybox", content: Deno.readFileSync(BUSYBOX), mode: 0o755 },
      { name: "etc/", type: "directory" },
      {
        name: "etc/passwd",
        content: "root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000:berth:/home/berth:/bin/sh\n" +
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
      },
      {
        name: "etc/group",
        content: "root:x:0:\nberth:x:1000:\nextra:x:2000:berth\nnogroup:x:65534:\n",
      },
      { name: "root/", type: "directory", mode: 0o700 },
      { name: "home/", type: "directory" },
      { name: "home/berth/", type: "directory", uid: 1000, gid: 1000 },
      { name: "tmp/", type: "directory", mode: 0o1777 },
      { name: "var/", type: "directory" },
      { name: "proc/", type: "directory" },
      { name: "sys/", type: "directory" },
      { name: "dev/", type: "directory" },
    ];
    for (const path of applets()) {
      const depth = path.split("/").length - 1;
      entries.push({
        name: path,
        type: "symlink",
        linkname: path.startsWith("bin/") ? "busybox" : `${"../".repeat(depth)}bin/busybox`,
      });
    }
    return await buildImage({ layers: [{ entries, compression: "gzip" }], cmd: ["sh"] });
  })();
  return built;
}

/** The image as a `docker load` archive, tagged `name`. */
export async function busyboxArchive(name = "busybox:latest"): Promise<Uint8Array> {
  return await ociArchive([{ img: await busyboxImage(), name: `docker.io/library/${name}` }]);
}

/** Loads the image into `<dataRoot>/image` (dockerd not running yet). */
export async function seedBusybox(dataRoot: string, name = "busybox:latest"): Promise<void> {
  const svc = new ImageService({ root: `${dataRoot}/image`, dockerConfigPath: null });
  const tar = await busyboxArchive(name);
  await loadImages(svc, ReadableStream.from([tar]));
}

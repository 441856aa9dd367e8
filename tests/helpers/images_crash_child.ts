/**
 * The subject of the kill -9 test (tests/images_crash_test.ts): works on an
 * image store in a loop — load, tag, prepare a rootfs, remove it, untag,
 * delete — until it is killed. Prints "ready" after the first round.
 * Usage: deno run -A images_crash_child.ts ROOT ARCHIVE
 */
import { ImageService } from "../../daemon/images/service.ts";
import { loadImages } from "../../daemon/images/load.ts";
import { removeImage } from "../../daemon/images/remove.ts";

const [root, archive] = Deno.args;
const svc = new ImageService({ root, dockerConfigPath: null });
await svc.init();
const run = crypto.randomUUID().slice(0, 8);
for (let round = 0;; round++) {
  const { ids } = await loadImages(svc, (await Deno.open(archive)).readable);
  svc.tag(ids[0], `round-${run}-${round}`);
  await svc.prepareRootfs(`ctr-${run}-${round}`, `round-${run}-${round}`);
  if (round % 2 === 1) await svc.removeRootfs(`ctr-${run}-${round}`);
  await removeImage(svc, ids[0], { force: true }).catch(() => {});
  if (round === 0) console.log("ready");
}

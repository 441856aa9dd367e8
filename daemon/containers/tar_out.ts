/**
 * A tar of a file tree, streamed (tar-stream), as Docker's archive package
 * writes it for `docker cp` and `docker export`: entries in lexical order
 * (Go's filepath.Walk), directories with a trailing slash, hard links as
 * link entries to the first name seen, numeric owners, mtimes in whole
 * seconds, sockets skipped, files that vanish during the walk skipped.
 *
 * A regular file is opened and its inode compared with what lstat saw
 * before its header is written, so a file swapped for a symlink (a running
 * container can do that) is never read through the link. A directory swapped
 * for a symlink between listing and reading is not caught (see tar_in.ts on
 * running containers).
 */
import tar, { type Header as FullHeader } from "tar-stream";
import { splitDev } from "../../runtime/linux/libc.ts";

type Header = Partial<FullHeader> & { name: string };

export interface TarSource {
  /** Host path of the top entry. */
  path: string;
  /**
   * Its name in the tar (children are `<name>/<child>`); null leaves the top
   * out and names children relative to it (`docker export`).
   */
  name: string | null;
}

const CHUNK = 64 * 1024;

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

type Sink = ReturnType<ReturnType<typeof tar.pack>["entry"]>;

/** Resolves when `sink` takes more, or can take nothing more (the pack was destroyed). */
function drained(sink: Sink): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      for (const ev of ["drain", "close", "error"]) sink.off(ev, go);
      resolve();
    };
    for (const ev of ["drain", "close", "error"]) sink.once(ev, go);
  });
}

/** Writes the tree at `src` into `pack`; stops early once `cancelled()` says so. */
async function walk(
  pack: ReturnType<typeof tar.pack>,
  src: TarSource,
  cancelled: () => boolean,
): Promise<void> {
  const seen = new Map<string, string>();
  const entry = (header: Header): Promise<void> =>
    new Promise((resolve, reject) => {
      pack.entry(header, (err) => err ? reject(err) : resolve());
    });

  const visit = async (path: string, name: string | null, top: boolean): Promise<void> => {
    if (cancelled()) return;
    const st = lstatOrNull(path);
    if (!st) {
      if (top) throw new Deno.errors.NotFound(`lstat ${path}`);
      return; // removed during the walk
    }
    if (name !== null) await addEntry(path, name, st);
    if (!st.isDirectory) return;
    let names: string[];
    try {
      names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
    } catch {
      return;
    }
    for (const child of names) {
      await visit(`${path}/${child}`, name === null ? child : `${name}/${child}`, false);
    }
  };

  const addEntry = async (path: string, name: string, st: Deno.FileInfo): Promise<void> => {
    const header: Header = {
      name: st.isDirectory ? `${name}/` : name,
      // A bit above 0o7777 (masked off when encoded) keeps tar-stream from taking mode 0 as unset.
      mode: ((st.mode ?? 0) & 0o7777) | 0o10000000,
      uid: st.uid ?? 0,
      gid: st.gid ?? 0,
      mtime: new Date(Math.floor((st.mtime?.getTime() ?? 0) / 1000) * 1000),
      size: 0,
    };
    if (!st.isDirectory && (st.nlink ?? 1) > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = seen.get(key);
      if (first !== undefined) {
        await entry({ ...header, type: "link", linkname: first });
        return;
      }
      seen.set(key, name);
    }
    if (st.isFile) {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { read: true });
      } catch {
        return;
      }
      try {
        const now = file.statSync();
        if (!now.isFile || now.ino !== st.ino || now.dev !== st.dev) return; // swapped meanwhile
        await writeFile(pack, { ...header, type: "file", size: st.size }, file, st.size);
      } finally {
        file.close();
      }
      return;
    }
    if (st.isDirectory) return await entry({ ...header, type: "directory" });
    if (st.isSymlink) {
      let target: string;
      try {
        target = Deno.readLinkSync(path);
      } catch {
        return;
      }
      return await entry({ ...header, type: "symlink", linkname: target });
    }
    if (st.isFifo) return await entry({ ...header, type: "fifo" });
    if (st.isCharDevice || st.isBlockDevice) {
      const { major, minor } = splitDev(st.rdev ?? 0);
      return await entry({
        ...header,
        type: st.isCharDevice ? "character-device" : "block-device",
        devmajor: major,
        devminor: minor,
      });
    }
    // Sockets have no tar form: Docker skips them too.
  };

  await visit(src.path, src.name, true);
}

/** Exactly `size` bytes of `file` (zeros if it shrank, cut if it grew): the header promised them. */
async function writeFile(
  pack: ReturnType<typeof tar.pack>,
  header: Header,
  file: Deno.FsFile,
  size: number,
): Promise<void> {
  let done!: () => void, failed!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => [done, failed] = [res, rej]);
  const sink = pack.entry(header, (err) => err ? failed(err) : done());
  let left = size;
  const buf = new Uint8Array(CHUNK);
  while (left > 0) {
    let n = await file.read(buf.subarray(0, Math.min(CHUNK, left)));
    let chunk: Uint8Array;
    if (n === null || n === 0) {
      n = Math.min(CHUNK, left);
      chunk = new Uint8Array(n);
    } else {
      chunk = buf.slice(0, n);
    }
    left -= n;
    if (sink.destroyed) break;
    if (!sink.write(chunk)) await drained(sink);
  }
  (sink as unknown as { end(): void }).end();
  await finished;
}

/**
 * The tar of `src` as a stream. `done` runs once when the stream ends,
 * fails or is cancelled (to release the mount it reads from).
 */
export function tarStream(src: TarSource, done: () => void): ReadableStream<Uint8Array> {
  const pack = tar.pack();
  let cancelled = false;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const producer = walk(pack, src, () => cancelled).then(
    () => pack.finalize(),
    (e) => pack.destroy(e),
  );
  const it = (pack as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const r = await it.next();
        if (r.done) {
          await producer;
          finish();
          ctl.close();
        } else {
          ctl.enqueue(new Uint8Array(r.value));
        }
      } catch (e) {
        finish();
        ctl.error(e);
      }
    },
    cancel() {
      // The walk sees the flag at its next step; the mount can go now (open files stay readable).
      cancelled = true;
      pack.destroy();
      producer.catch(() => {});
      finish();
    },
  });
}

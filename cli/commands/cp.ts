/**
 * `docker cp`: container → host with GET /containers/{id}/archive (a tar
 * extracted here, or passed through with "-"), host → container with a tar
 * made here and PUT to the destination directory (after a HEAD to learn
 * whether the destination is a directory). Names follow Docker's rules: into
 * an existing directory under the source's name, else under the
 * destination's name.
 */
import type { CommandSpec } from "../command.ts";
import type { Cli } from "../cli.ts";
import type { Parsed } from "../flags.ts";
import { DaemonError, StatusError } from "../errors.ts";
import { writeAll } from "../http.ts";
import { readTar, TAR_END, type TarHeader, tarHeader, tarPadding } from "../tar.ts";
import { humanSize } from "../units.ts";

export const spec: CommandSpec = {
  use: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-",
  extraUsage: ["[OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"],
  short: "Copy files/folders between a container and the local filesystem",
  long: "Copy files/folders between a container and the local filesystem\n\n" +
    "Use '-' as the source to read a tar archive from stdin\n" +
    "and extract it to a directory destination in a container.\n" +
    "Use '-' as the destination to stream a tar archive of a\n" +
    "container source to stdout.",
  aliases: ["docker container cp", "docker cp"],
  flags: [
    {
      name: "archive",
      short: "a",
      type: "bool",
      usage: "Archive mode (copy all uid/gid information)",
    },
    {
      name: "follow-link",
      short: "L",
      type: "bool",
      usage: "Always follow symbol link in SRC_PATH",
    },
    {
      name: "quiet",
      short: "q",
      type: "bool",
      usage:
        "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached",
    },
  ],
  args: { exact: 2 },
};

/** Go's os.FileMode bits in the path-stat header. */
const MODE_DIR = 2 ** 31, MODE_SYMLINK = 2 ** 27;

/** The mode is a uint32: past JS's 32-bit bitwise operators. */
const isDir = (mode: number) => Math.floor(mode / MODE_DIR) % 2 === 1;

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** "container:path" → [container, path]; a local path has no container (a colon after a slash is a file name). */
function splitArg(arg: string): [string, string] {
  if (arg.startsWith("/") || arg.startsWith(".")) return ["", arg];
  const i = arg.indexOf(":");
  if (i <= 0) return ["", arg];
  const slash = arg.indexOf("/");
  if (slash >= 0 && slash < i) return ["", arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

function statFrom(res: { headers: Headers }): PathStat | undefined {
  const h = res.headers.get("x-docker-container-path-stat");
  if (!h) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(h), (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
}

function absolute(p: string): string {
  const parts = (p.startsWith("/") ? p : `${Deno.cwd()}/${p}`).split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

const basename = (p: string) => p.replace(/\/+$/, "").split("/").pop() ?? "";
const dirname = (p: string) => {
  const s = p.replace(/\/+$/, "");
  const i = s.lastIndexOf("/");
  return i <= 0 ? "/" : s.slice(0, i);
};

function lstat(p: string, follow: boolean): Deno.FileInfo | undefined {
  try {
    return follow ? Deno.statSync(p) : Deno.lstatSync(p);
  } catch {
    return undefined;
  }
}

export async function run(cli: Cli, opts: Parsed): Promise<number> {
  const [src, dst] = opts.args;
  const [srcC, srcPath] = splitArg(src);
  const [dstC, dstPath] = splitArg(dst);
  if (!srcC && !dstC) throw new StatusError("must specify at least one container source", 1);
  if (srcC && dstC) throw new StatusError("copying between containers is not supported", 1);
  if (srcC) return await fromContainer(cli, opts, srcC, srcPath, dst);
  return await toContainer(cli, opts, src, dstC, dstPath, dst);
}

function progress(cli: Cli, opts: Parsed, bytes: number, where: string) {
  if (!opts.values.quiet && cli.io.stderr.isTerminal()) {
    cli.err(`Successfully copied ${humanSize(bytes)} to ${where}\n`);
  }
}

async function fromContainer(
  cli: Cli,
  opts: Parsed,
  container: string,
  srcPath: string,
  dst: string,
): Promise<number> {
  const follow = opts.values["follow-link"] as boolean;
  let local = "";
  if (dst !== "-") {
    local = absolute(dst);
    const st = lstat(local, true);
    if (!st && !lstat(dirname(local), true)?.isDirectory) {
      throw new StatusError(`invalid output path: directory "${dirname(local)}" does not exist`, 1);
    }
    if (dst.endsWith("/") && st && !st.isDirectory) {
      throw new StatusError(`invalid output path: "${dst}" must be a directory`, 1);
    }
  }
  const client = cli.client;
  const path = `/containers/${encodeURIComponent(container)}/archive`;
  let res = await client.request("GET", path, { query: { path: srcPath } });
  let stat = statFrom(res);
  if (follow && stat && (stat.mode & MODE_SYMLINK) && stat.linkTarget) {
    res.close();
    res = await client.request("GET", path, { query: { path: stat.linkTarget } });
    stat = statFrom(res);
  }
  let bytes = 0;
  const counted = (async function* () {
    for await (const c of res.body) {
      bytes += c.length;
      yield c;
    }
  })();
  if (dst === "-") {
    for await (const c of counted) await writeAll(cli.io.stdout, c);
    return 0;
  }
  const srcIsDir = !!stat && isDir(stat.mode);
  const dstStat = lstat(local, true);
  const contentsOnly = srcPath.endsWith("/.") || srcPath === ".";
  let intoDir: string, rename: [string, string] | undefined;
  if (dstStat?.isDirectory) {
    intoDir = local;
  } else if (dstStat) {
    if (srcIsDir) throw new StatusError("cannot copy a directory to a file", 1);
    intoDir = dirname(local);
    rename = [stat?.name ?? basename(srcPath), basename(local)];
  } else {
    intoDir = dirname(local);
    rename = [contentsOnly ? "." : stat?.name ?? basename(srcPath), basename(local)];
    if (contentsOnly) Deno.mkdirSync(local, { recursive: true });
  }
  await extract(counted, intoDir, rename);
  progress(cli, opts, bytes, local);
  return 0;
}

/** Extracts a tar stream under `dir`, renaming its first path component per `rename`. */
async function extract(
  source: AsyncIterable<Uint8Array>,
  dir: string,
  rename?: [string, string],
): Promise<void> {
  const dirTimes: [string, number][] = [];
  for await (const { header, body } of readTar(source)) {
    let name = header.name.replace(/^\.\//, "").replace(/\/+$/, "");
    if (rename) {
      const [from, to] = rename;
      if (from === ".") name = name === "." || name === "" ? to : `${to}/${name}`;
      else if (name === from) name = to;
      else if (name.startsWith(from + "/")) name = to + name.slice(from.length);
    }
    if (name === "" || name === ".") continue;
    const target = absolute(`${dir}/${name}`);
    if (target !== dir && !target.startsWith(dir === "/" ? "/" : dir + "/")) {
      throw new StatusError(`invalid tar entry outside the destination: ${header.name}`, 1);
    }
    Deno.mkdirSync(dirname(target), { recursive: true });
    const mode = header.mode & 0o7777;
    switch (header.type) {
      case "dir":
        try {
          Deno.mkdirSync(target, { mode });
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        }
        Deno.chmodSync(target, mode);
        dirTimes.push([target, header.mtime]);
        break;
      case "symlink":
        try {
          Deno.removeSync(target);
        } catch { /* absent */ }
        Deno.symlinkSync(header.linkname, target);
        break;
      case "link":
        try {
          Deno.removeSync(target);
        } catch { /* absent */ }
        Deno.linkSync(absolute(`${dir}/${header.linkname}`), target);
        break;
      case "file": {
        const f = Deno.openSync(target, { write: true, create: true, truncate: true, mode });
        try {
          for await (const c of body) await writeAll(f, c);
        } finally {
          f.close();
        }
        Deno.chmodSync(target, mode);
        Deno.utimeSync(target, header.mtime, header.mtime);
        break;
      }
      default:
        break;
    }
  }
  // Directory times last: writing into a directory changes its mtime.
  for (const [d, t] of dirTimes.reverse()) {
    try {
      Deno.utimeSync(d, t, t);
    } catch { /* gone */ }
  }
}

async function* tarOf(
  root: string,
  name: string,
  follow: boolean,
  keepIds: boolean,
): AsyncGenerator<Uint8Array> {
  const walk = async function* (path: string, entry: string): AsyncGenerator<Uint8Array> {
    const st = follow && entry === name ? Deno.statSync(path) : Deno.lstatSync(path);
    const h: TarHeader = {
      name: entry,
      type: st.isDirectory ? "dir" : st.isSymlink ? "symlink" : st.isFile ? "file" : "other",
      mode: st.mode ?? 0o644,
      uid: keepIds ? st.uid ?? 0 : st.uid ?? 0,
      gid: keepIds ? st.gid ?? 0 : st.gid ?? 0,
      size: st.isFile ? st.size : 0,
      mtime: Math.floor((st.mtime?.getTime() ?? Date.now()) / 1000),
      linkname: st.isSymlink ? Deno.readLinkSync(path) : "",
    };
    if (h.type === "other") return;
    yield tarHeader(h);
    if (h.type === "file") {
      const f = await Deno.open(path);
      try {
        const buf = new Uint8Array(64 * 1024);
        let left = h.size;
        while (left > 0) {
          const n = await f.read(buf);
          if (n === null) break;
          const chunk = buf.slice(0, Math.min(n, left));
          left -= chunk.length;
          yield chunk;
        }
        // A file that shrank while read is padded to its announced size.
        if (left > 0) yield new Uint8Array(left);
      } finally {
        f.close();
      }
      yield tarPadding(h.size);
    } else if (h.type === "dir") {
      const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
      for (const n of names) {
        yield* walk(`${path}/${n}`, entry === "." ? `./${n}` : `${entry}/${n}`);
      }
    }
  };
  yield* walk(root, name);
  yield TAR_END;
}

async function toContainer(
  cli: Cli,
  opts: Parsed,
  src: string,
  container: string,
  dstPath: string,
  dstArg: string,
): Promise<number> {
  const follow = opts.values["follow-link"] as boolean;
  const client = cli.client;
  const path = `/containers/${encodeURIComponent(container)}/archive`;
  let dstStat: PathStat | undefined;
  try {
    const res = await client.request("HEAD", path, { query: { path: dstPath } });
    dstStat = statFrom(res);
    res.close();
  } catch (e) {
    if (!(e instanceof DaemonError && e.notFound)) throw e;
  }
  const dstIsDir = !!dstStat && isDir(dstStat.mode);
  const query = (dir: string) => ({
    path: dir,
    noOverwriteDirNonDir: "true",
    copyUIDGID: opts.values.archive ? "true" : undefined,
  });
  if (src === "-") {
    if (!dstIsDir) throw new StatusError(`destination "${dstArg}" must be a directory`, 1);
    await client.call("PUT", path, {
      query: query(dstPath),
      headers: { "Content-Type": "application/x-tar" },
      body: stdinChunks(cli),
    });
    return 0;
  }
  const local = absolute(src);
  const st = lstat(local, follow);
  if (!st) throw new StatusError(`lstat ${local}: no such file or directory`, 1);
  const contentsOnly = src.endsWith("/.") || src === ".";
  let dir: string, name: string;
  if (dstIsDir) {
    dir = dstPath;
    name = contentsOnly ? "." : basename(local);
  } else if (dstStat) {
    if (st.isDirectory) throw new StatusError("cannot copy a directory to a file", 1);
    dir = dirname(dstPath);
    name = basename(dstPath);
  } else {
    // A missing "dir/" is made from a source directory; a file cannot become one.
    if (dstPath.endsWith("/") && !st.isDirectory) throw new StatusError("no such directory", 1);
    dir = dirname(dstPath);
    name = basename(dstPath);
  }
  let bytes = 0;
  const body = (async function* () {
    for await (const c of tarOf(local, name, follow, !!opts.values.archive)) {
      bytes += c.length;
      yield c;
    }
  })();
  await client.call("PUT", path, {
    query: query(dir),
    headers: { "Content-Type": "application/x-tar" },
    body,
  });
  progress(cli, opts, bytes, `${container}:${dstPath}`);
  return 0;
}

async function* stdinChunks(cli: Cli): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = await cli.io.stdin.read(buf);
    if (n === null) return;
    yield buf.subarray(0, n);
  }
}

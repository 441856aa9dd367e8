/**
 * The attached streams of run, start -a, attach and exec over a hijacked
 * connection (hijackedIOStreamer): the daemon's output is copied to stdout /
 * stderr (raw with a TTY, else demultiplexed), our stdin to the connection
 * (half-closed at EOF). With a TTY, stdin is in raw mode and watched for the
 * detach sequence (default ctrl-p,ctrl-q), which ends the session.
 */
import type { Cli } from "./cli.ts";
import type { HttpResponse } from "./http.ts";
import { writeAll } from "./http.ts";
import { demux } from "./stdcopy.ts";
import { makeStdinRaw } from "./terminal.ts";
import {
  DEFAULT_DETACH_KEYS,
  DetachFilter,
  parseDetachKeys,
} from "../daemon/attach/detach_keys.ts";

export interface StreamOptions {
  tty: boolean;
  /** Send our stdin to the container. */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The detach sequence watched for on a TTY's stdin. */
  detachKeys?: string;
}

export type StreamEnd = "ended" | "detached";

/** The detach keys to use: the flag, else the config file's, else the default. */
export function detachKeys(cli: Cli, flag: string): string {
  if (flag) return flag;
  try {
    return cli.config.load().detachKeys || "";
  } catch {
    return "";
  }
}

async function* output(res: HttpResponse): AsyncGenerator<Uint8Array> {
  for (;;) {
    let chunk: Uint8Array | null;
    try {
      chunk = await res.reader.readSome();
    } catch {
      return; // the connection was closed under us
    }
    if (!chunk) return;
    yield chunk;
  }
}

/**
 * Streams until the container's output ends (or, without output streams, our
 * stdin ends), or the user types the detach sequence.
 */
export async function streamHijacked(
  cli: Cli,
  res: HttpResponse,
  opts: StreamOptions,
): Promise<StreamEnd> {
  const restore = opts.stdin && opts.tty ? await makeStdinRaw(cli) : () => {};
  try {
    const out = cli.io.stdout, err = cli.io.stderr;
    const outputDone = (async () => {
      if (opts.tty) {
        for await (const c of output(res)) await writeAll(out, c);
      } else {
        await demux(output(res), {
          stdout: (d) => writeAll(out, d),
          stderr: (d) => writeAll(err, d),
        });
      }
      return "ended" as StreamEnd;
    })();

    let inputDone: Promise<StreamEnd | "eof"> = new Promise(() => {});
    if (opts.stdin) {
      let filter: DetachFilter | undefined;
      if (opts.tty) {
        try {
          filter = new DetachFilter(parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS));
        } catch {
          cli.warn(`invalid detach escape keys, using default: ${opts.detachKeys}`);
          filter = new DetachFilter(parseDetachKeys(DEFAULT_DETACH_KEYS));
        }
      }
      inputDone = (async () => {
        const buf = new Uint8Array(32 * 1024);
        for (;;) {
          let n: number | null;
          try {
            n = await cli.io.stdin.read(buf);
          } catch {
            n = null;
          }
          if (n === null) break;
          let data: Uint8Array = buf.subarray(0, n);
          if (filter) {
            const r = filter.feed(data);
            if (r.detach) {
              if (r.data.length) await writeAll(res.conn, r.data).catch(() => {});
              return "detached" as const;
            }
            data = r.data;
          }
          if (data.length) {
            try {
              await writeAll(res.conn, data);
            } catch {
              break;
            }
          }
        }
        try {
          await (res.conn as Deno.UnixConn).closeWrite();
        } catch { /* closed */ }
        return "eof" as const;
      })();
    }

    const first = await Promise.race([outputDone, inputDone]);
    if (first === "detached") return "detached";
    if (first === "eof" && !opts.stdout && !opts.stderr) return "ended";
    if (first === "eof") return await outputDone;
    return first;
  } finally {
    restore();
    res.close();
  }
}

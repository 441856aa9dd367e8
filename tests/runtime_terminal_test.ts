/**
 * Terminals: with process.terminal the pty is made inside the container and
 * its master sent over --console-socket (SCM_RIGHTS, as containerd's shim
 * expects), for `create` and for `exec -t`; without a socket `create` is
 * refused, and `run` relays the caller's own terminal interactively.
 *
 * Inside, every container process checks what a terminal program needs: a
 * /dev/pts/N on stdin and stdout, the window size, being the leader of its
 * own session with that pty as controlling terminal (and in its foreground
 * process group), input typed on the master, and no host fd besides stdio.
 */
import assert from "node:assert/strict";
import { type Ctx, T, withContainer } from "./helpers/fixture.ts";
import { type Interaction, underScript } from "./helpers/pty.ts";
import { describe, isBerth, type RunResult, runtimeArgv, waitFor } from "./helpers/runtime.ts";
import { acceptUnix, connectUnix, listenUnix, recvFd } from "../runtime/linux/fdpass.ts";
import { close, libc } from "../runtime/linux/libc.ts";
import { getWinsize, setWinsize } from "../runtime/linux/pty.ts";
import type { Process } from "../runtime/spec/types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * What every terminal process reports, one `key=value` (or marker) per
 * line: its tty, its window size, whether stdio are terminals, its session
 * and process group, the controlling tty and foreground group (from
 * /proc/$$/stat: pid (comm) state ppid pgrp session tty_nr tpgid), and its
 * open fds (`ls -l /proc/self/fd`, which also shows ls's own directory fd).
 * With `readFirst`, it reads a line before anything else (so the test can
 * set the window size first), else after.
 */
function probe(opts: { readFirst?: boolean; exit?: number } = {}): string[] {
  const read = "echo ready; read -r line; echo got:$line";
  const report = [
    "echo tty=$(tty)",
    "echo size=$(stty size)",
    "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-are-ttys",
    "read -r pid comm state ppid pgrp sid ttynr tpgid rest < /proc/$$/stat",
    'echo "proc=$$ $pid $pgrp $sid $ttynr $tpgid"',
    "echo fds-begin; ls -l /proc/self/fd; echo fds-end",
  ].join("; ");
  const script = opts.readFirst ? `${read}; ${report}` : `${report}; ${read}`;
  return ["sh", "-c", `${script}; exit ${opts.exit ?? 0}`];
}

/** The kernel's encoding of a device number in /proc/PID/stat (new_encode_dev). */
function encodeDev(major: number, minor: number): number {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

/** Checks a probe's report; returns the pts name the process saw. */
function checkReport(text: string, size: string): string {
  // (Deno may clear its progress line on a terminal: drop escape sequences.)
  // deno-lint-ignore no-control-regex
  const lines = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/\r?\n/);
  const value = (key: string) => {
    const l = lines.find((l) => l.startsWith(`${key}=`));
    assert.ok(l !== undefined, `no ${key}= in the output:\n${text}`);
    return l.slice(key.length + 1);
  };
  const tty = value("tty");
  assert.match(tty, /^\/dev\/pts\/\d+$/, text);
  assert.equal(value("size"), size, text);
  assert.ok(lines.includes("stdio-are-ttys"), `stdin, stdout and stderr are terminals:\n${text}`);
  const [shell, pid, pgrp, sid, ttyNr, tpgid] = value("proc").split(" ").map(Number);
  assert.equal(pid, shell, text);
  assert.equal(sid, pid, `the process leads its own session:\n${text}`);
  assert.equal(pgrp, pid, `and its own process group:\n${text}`);
  const n = Number(tty.slice("/dev/pts/".length));
  assert.equal(ttyNr, encodeDev(136, n), `its controlling terminal is ${tty}:\n${text}`);
  assert.equal(tpgid, pgrp, `in the terminal's foreground process group:\n${text}`);
  // Only stdio (the pty) and ls's own fd on /proc/<ls>/fd (already closed
  // when ls reads the link, or not): no host fd leaked in.
  const begin = lines.indexOf("fds-begin"), end = lines.indexOf("fds-end");
  assert.ok(begin >= 0 && end > begin, text);
  const fds = lines.slice(begin + 1, end).map((l) => /^l\S+ .* (\d+)(?: -> (.*))?$/.exec(l))
    .filter((m) => m !== null).map((m) => ({ fd: Number(m[1]), target: m[2] ?? "" }));
  assert.deepEqual(fds.filter((f) => f.fd <= 2), [0, 1, 2].map((fd) => ({ fd, target: tty })));
  const others = fds.filter((f) => f.fd > 2);
  assert.ok(
    others.length <= 1 && others.every((f) => /^(\/proc\/\d+\/fd)?$/.test(f.target)),
    `fds open in the container besides stdio: ${JSON.stringify(others)}`,
  );
  return tty;
}

/**
 * Listens on `path` for the pty master the runtime sends while `call` runs.
 * Fails if the call ends and no master arrives within a moment (the
 * runtime sends it before it exits, but it may be read after); then the
 * accept still waiting on a worker thread is unblocked.
 */
async function receiveMaster(
  path: string,
  call: Promise<RunResult>,
): Promise<{ fd: number; name: string }> {
  const listener = listenUnix(path);
  let accepted = false;
  const master = (async () => {
    const conn = await acceptUnix(listener);
    accepted = true;
    try {
      return await recvFd(conn);
    } finally {
      close(conn);
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = call.then((r) =>
    new Promise<never>((_, reject) => {
      const err = new Error(`the runtime sent no pty master: ${describe(r)}`);
      timer = setTimeout(() => reject(err), 2000);
    })
  );
  try {
    return await Promise.race([master, ended]);
  } catch (e) {
    if (!accepted) {
      try {
        close(connectUnix(path));
      } catch { /* accept already done */ }
    }
    await master.catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
    close(listener);
    Deno.removeSync(path);
  }
}

/** Waits until `output()` includes `marker`; a timeout error quotes the output. */
async function waitForOutput(output: () => string, marker: string, what: string): Promise<void> {
  try {
    await waitFor(what, () => output().includes(marker));
  } catch (e) {
    throw new Error(`${(e as Error).message}; output so far: ${JSON.stringify(output())}`);
  }
}

/** A pty master read in the background; `text()` is everything read so far. */
class Master {
  #text = "";
  readonly done: Promise<void>;
  constructor(readonly fd: number) {
    this.done = (async () => {
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = Number(await libc().readBlocking(fd, buf, BigInt(buf.length)));
        if (n <= 0) return; // EIO: the last slave fd was closed
        this.#text += dec.decode(buf.subarray(0, n), { stream: true });
      }
    })();
  }
  text(): string {
    return this.#text;
  }
  async type(s: string): Promise<void> {
    const data = enc.encode(s);
    assert.equal(
      Number(await libc().writeBlocking(this.fd, data, BigInt(data.length))),
      data.length,
    );
  }
  waitFor(marker: string, what: string): Promise<void> {
    return waitForOutput(() => this.#text, marker, what);
  }
  /** Waits for the container side to close (so no read is pending), then closes the master. */
  async close(): Promise<void> {
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 5000))]);
    close(this.fd);
  }
}

Deno.test(
  "create --console-socket: the pty master comes over the socket, sized; the process has a terminal",
  T,
  async () => {
    await withContainer({
      terminal: true,
      args: probe({ exit: 0 }),
      mutate: (s) => void (s.process!.consoleSize = { height: 30, width: 100 }),
    }, async (ctx) => {
      const sock = `${ctx.bundle.dir}/console.sock`;
      const created = ctx.rt([
        "create",
        "--bundle",
        ctx.bundle.dir,
        "--console-socket",
        sock,
        ctx.id,
      ]);
      const received = await receiveMaster(sock, created);
      const master = new Master(received.fd);
      try {
        const r = await created;
        assert.equal(r.code, 0, describe(r));
        assert.deepEqual(getWinsize(master.fd), { rows: 30, cols: 100 }, "consoleSize");
        assert.equal((await ctx.state()).status, "created");
        await ctx.ok(["start", ctx.id]);
        await master.waitFor("ready", "the process to report");
        await master.type("typed on the master\n");
        await master.waitFor("got:typed on the master", "typed input to reach the process");
        await waitFor(
          "the container to stop",
          async () => (await ctx.state()).status === "stopped",
        );
        await master.done;
        const tty = checkReport(master.text(), "30 100");
        // runc sends "/dev/ptmx" as the name; berth sends the slave's name.
        if (isBerth()) assert.equal(tty, received.name, "the name sent with the master");
      } finally {
        await master.close();
      }
    });
  },
);

/** Runs `fn` with a running, non-terminal container (`sleep`). */
function withRunning(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  return withContainer({ args: ["sleep", "1000"] }, async (ctx) => {
    await ctx.ok(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
    await fn(ctx);
  });
}

/**
 * `exec -t --detach --console-socket S --pid-file P` (how containerd's shim
 * runs a terminal exec; runc refuses a console socket without --detach) with
 * extra `flags` and `args`: receives the master, calls `interact`, waits for
 * the process to end (the master reads EIO once its last slave fd is gone).
 */
async function execWithConsole(
  ctx: Ctx,
  flags: string[],
  args: string[],
  interact: (master: Master) => Promise<void>,
): Promise<{ master: Master; name: string; pid: number }> {
  const tag = crypto.randomUUID().slice(0, 8);
  const sock = `${ctx.bundle.dir}/exec-console-${tag}.sock`;
  const pidFile = `${ctx.bundle.dir}/exec-${tag}.pid`;
  const exec = ctx.rt([
    "exec",
    "-t",
    "--detach",
    "--console-socket",
    sock,
    "--pid-file",
    pidFile,
    ...flags,
    ctx.id,
    ...args,
  ]);
  const received = await receiveMaster(sock, exec);
  const master = new Master(received.fd);
  try {
    const r = await exec;
    assert.equal(r.code, 0, describe(r));
    const pid = Number(Deno.readTextFileSync(pidFile).trim());
    assert.ok(pid > 0, `pid file: ${pid}`);
    await interact(master);
    await master.done;
    return { master, name: received.name, pid };
  } finally {
    await master.close();
  }
}

Deno.test("exec -t --console-socket into a running container", T, async (t) => {
  await withRunning(async (ctx) => {
    await t.step("arguments; the window size set on the master; input", async () => {
      const { master, name } = await execWithConsole(
        ctx,
        [],
        probe({ readFirst: true }),
        async (m) => {
          setWinsize(m.fd, 30, 100);
          await m.waitFor("ready", "the process to ask for input");
          await m.type("from the exec master\n");
        },
      );
      assert.match(master.text(), /got:from the exec master/);
      const tty = checkReport(master.text(), "30 100");
      if (isBerth()) assert.equal(tty, name, "the name sent with the master is the tty");
    });
    await t.step("--process with consoleSize", async () => {
      const base = ctx.bundle.spec!.process!;
      const process: Process = {
        ...base,
        terminal: true,
        consoleSize: { height: 30, width: 100 },
        args: probe(),
      };
      const file = `${ctx.bundle.dir}/process.json`;
      Deno.writeTextFileSync(file, JSON.stringify(process));
      const { master } = await execWithConsole(ctx, ["--process", file], [], async (m) => {
        await m.waitFor("ready", "the process to report");
        await m.type("second\n");
      });
      assert.match(master.text(), /got:second/);
      checkReport(master.text(), "30 100");
    });
    await t.step("the container's init is untouched", async () => {
      assert.equal((await ctx.state()).status, "running");
    });
  });
});

Deno.test(
  "a terminal without a console socket is refused where it cannot be relayed",
  T,
  async (t) => {
    await withContainer({ terminal: true, args: ["true"] }, async (ctx) => {
      const nothingLeft = async () => {
        assert.equal(await ctx.ok(["list", "-q"]), "");
        const entries = [...Deno.readDirSync(ctx.root)].map((e) => e.name);
        assert.deepEqual(entries, [], `the state directory is empty: ${entries}`);
      };
      await t.step("create", async () => {
        const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id]);
        assert.notEqual(r.code, 0, describe(r));
        assert.match(r.stderr, /console.socket/, describe(r));
        await nothingLeft();
      });
      await t.step("run --detach", async () => {
        const r = await ctx.rt(["run", "--detach", "--bundle", ctx.bundle.dir, ctx.id]);
        assert.notEqual(r.code, 0, describe(r));
        assert.match(r.stderr, /console.socket/, describe(r));
        await nothingLeft();
      });
    });
    await withRunning(async (ctx) => {
      await t.step("exec -t --detach", async () => {
        const r = await ctx.rt(["exec", "-t", "--detach", ctx.id, "true"]);
        assert.notEqual(r.code, 0, describe(r));
        assert.match(r.stderr, /console.socket/, describe(r));
        assert.deepEqual(JSON.parse(await ctx.ok(["ps", "--format", "json", ctx.id])).length, 1);
      });
    });
  },
);

/** Quotes a word for sh. */
function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `command` on a real pty (see helpers/pty.ts), a 30x100 window. */
function onPty(
  command: string,
  interact: Interaction,
): Promise<{ code: number; text: string }> {
  return underScript(command, interact, { env: { DENO_NO_UPDATE_CHECK: "1" } });
}

Deno.test(
  "run with a terminal and no socket relays the caller's terminal (under script)",
  T,
  async () => {
    await withContainer({ terminal: true, args: probe({ exit: 4 }) }, async (ctx) => {
      const argv = [
        ...runtimeArgv(),
        "--root",
        ctx.root,
        "run",
        "--bundle",
        ctx.bundle.dir,
        ctx.id,
      ];
      const { code, text } = await onPty(argv.map(shq).join(" "), async (out, type) => {
        await waitForOutput(out, "ready", "the process to report");
        await type("typed in script\n");
        await waitForOutput(out, "got:typed in script", "typed input to reach the process");
      });
      // The size is the caller's terminal's (script's, set by stty), not a consoleSize.
      checkReport(text, "30 100");
      assert.equal(code, 4, `the exit code comes through the runtime and script:\n${text}`);
      assert.equal(await ctx.ok(["list", "-q"]), "", "run deleted the container");
    });
  },
);

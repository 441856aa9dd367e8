/**
 * Terminals: the pty is made inside the container and its master sent over
 * --console-socket (as containerd expects); without a socket, `run` in a
 * terminal relays it interactively.
 */
import assert from "node:assert/strict";
import { T, withContainer } from "./helpers/fixture.ts";
import { runtimeArgv, waitFor } from "./helpers/runtime.ts";
import { acceptUnix, listenUnix, recvFd } from "../runtime/linux/fdpass.ts";
import { close, libc } from "../runtime/linux/libc.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads the master in the background; `text()` is everything read so far. */
function drain(master: number): { text(): string; done: Promise<void> } {
  let text = "";
  const done = (async () => {
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = Number(await libc().readBlocking(master, buf, BigInt(buf.length)));
      if (n <= 0) return;
      text += dec.decode(buf.subarray(0, n));
    }
  })();
  return { text: () => text, done };
}

Deno.test(
  "create --console-socket sends the pty master; the process has a terminal",
  T,
  async () => {
    await withContainer({
      terminal: true,
      args: [
        "sh",
        "-c",
        "tty; stty size; ls /proc/self/fd | tr '\\n' ' '; echo; read l; echo got:$l",
      ],
      mutate: (s) => void (s.process!.consoleSize = { height: 30, width: 100 }),
    }, async (ctx) => {
      const sockPath = `${ctx.root}/console.sock`;
      Deno.mkdirSync(ctx.root, { recursive: true });
      const listener = listenUnix(sockPath);
      const accepting = acceptUnix(listener);
      const created = ctx.ok([
        "create",
        "--bundle",
        ctx.bundle.dir,
        "--console-socket",
        sockPath,
        ctx.id,
      ]);
      const conn = await accepting;
      const { fd: master, name } = await recvFd(conn);
      close(conn);
      close(listener);
      await created;
      assert.match(name, /^\/dev\/pts\/\d+$/);
      const out = drain(master);
      try {
        await ctx.ok(["start", ctx.id]);
        await waitFor("the process's output", () => out.text().includes("30 100"));
        const w = await libc().writeBlocking(master, enc.encode("typed\n"), 6n);
        assert.equal(Number(w), 6);
        await waitFor("the echo of typed input", () => out.text().includes("got:typed"));
        const text = out.text();
        assert.match(text, /\/dev\/pts\/\d+/);
        // Only stdio (and ls's own directory fd) are open: no host fd leaked in.
        const fds = /^([\d ]+)\r?$/m.exec(text)![1].trim().split(" ");
        assert.ok(fds.length <= 4, `fds in the container: ${fds}`);
        await waitFor(
          "the container to stop",
          async () => (await ctx.state()).status === "stopped",
        );
      } finally {
        close(master);
      }
    });
  },
);

Deno.test("create with a terminal and no console socket is refused, nothing left", T, async () => {
  await withContainer({ terminal: true, args: ["true"] }, async (ctx) => {
    const r = await ctx.rt(["create", "--bundle", ctx.bundle.dir, ctx.id]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /console socket/);
    assert.equal(await ctx.ok(["list", "-q"]), "");
  });
});

Deno.test("run with a terminal and no socket relays the caller's terminal", T, async () => {
  await withContainer({
    terminal: true,
    args: ["sh", "-c", "[ -t 0 ] && echo is-a-tty; tty; exit 4"],
  }, async (ctx) => {
    const cmd = [...runtimeArgv(), "--root", ctx.root, "run", "--bundle", ctx.bundle.dir, ctx.id]
      .map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("script", {
      args: ["-qec", cmd, "/dev/null"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = dec.decode(out.stdout);
    assert.match(text, /is-a-tty/, text + dec.decode(out.stderr));
    assert.match(text, /\/dev\/pts\/\d+/);
    assert.equal(out.code, 4, "the exit code comes through script");
  });
});

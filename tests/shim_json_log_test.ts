/** The shim's json-file writer against Docker's format, escaping, line cutting and rotation. */
import assert from "node:assert/strict";
import { JsonLog, MAX_LINE } from "../shim/json_log.ts";

const enc = new TextEncoder();

interface Entry {
  log: string;
  stream: string;
  time: string;
}

async function withLog(
  cfg: { maxSize?: number; maxFile?: number },
  fn: (log: JsonLog, path: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "berth-test-jsonlog-" });
  try {
    const log = new JsonLog({ path: `${dir}/c.log`, ...cfg });
    await fn(log, `${dir}/c.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function entries(path: string): Entry[] {
  return Deno.readTextFileSync(path).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("json-file: lines, streams, times; an unterminated rest waits for its newline", async () => {
  await withLog({}, (log, path) => {
    log.write("stdout", enc.encode("one\ntw"));
    log.write("stderr", enc.encode("err\n"));
    log.write("stdout", enc.encode("o\nthree"));
    assert.deepEqual(entries(path).map((e) => [e.stream, e.log]), [
      ["stdout", "one\n"],
      ["stderr", "err\n"],
      ["stdout", "two\n"],
    ]);
    log.close(); // the rest is logged without a newline, as Docker does at EOF
    const all = entries(path);
    assert.deepEqual(all.at(-1)!.log, "three");
    for (const e of all) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });
});

Deno.test("json-file: Docker's escaping, byte for byte", async () => {
  await withLog({}, (log, path) => {
    const bad = new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82, 0x0a]); // a, invalid, b, cut € , \n
    log.write("stdout", enc.encode('q"b\\s<>&\t\r\u0001é€😀\u2028\n'));
    log.write("stdout", bad);
    log.close();
    const raw = Deno.readTextFileSync(path).split("\n");
    assert.equal(
      raw[0].slice(0, raw[0].indexOf('","stream"') + 1),
      '{"log":"q\\"b\\\\s\\u003c\\u003e\\u0026\\u0009\\r\\u0001é€😀\\u2028\\n"',
    );
    assert.equal(
      raw[1].slice(0, raw[1].indexOf('","stream"') + 1),
      '{"log":"a\\ufffdb\\ufffd\\ufffd\\n"',
    );
    assert.equal(entries(path)[0].log, 'q"b\\s<>&\t\r\u0001é€😀\u2028\n');
  });
});

Deno.test("json-file: a line over 16 KiB is logged in 16 KiB pieces", async () => {
  await withLog({}, (log, path) => {
    const long = "x".repeat(MAX_LINE * 2 + 5) + "\n";
    // Fed in odd chunks, to cross read boundaries.
    const bytes = enc.encode(long + "y".repeat(MAX_LINE - 1) + "\n");
    for (let i = 0; i < bytes.length; i += 1000) log.write("stdout", bytes.subarray(i, i + 1000));
    const logs = entries(path).map((e) => e.log);
    assert.deepEqual(logs.map((l) => l.length), [MAX_LINE, MAX_LINE, 6, MAX_LINE]);
    assert.equal(logs.join(""), long + "y".repeat(MAX_LINE - 1) + "\n");
    assert.ok(!logs[0].endsWith("\n") && logs[2].endsWith("\n"));
    log.close();
  });
});

Deno.test("json-file: rotation keeps max-file files of at most max-size bytes", async () => {
  await withLog({ maxSize: 1000, maxFile: 3 }, (log, path) => {
    for (let i = 0; i < 100; i++) log.write("stdout", enc.encode(`line ${i}\n`));
    log.close();
    const files = [path, `${path}.1`, `${path}.2`];
    for (const f of files) assert.ok(Deno.statSync(f).size <= 1000);
    assert.throws(() => Deno.statSync(`${path}.3`));
    // The newest lines are in the live file, in order across the files.
    const kept = [...files].reverse().flatMap(entries).map((e) => Number(e.log.split(" ")[1]));
    assert.equal(kept.at(-1), 99);
    for (let i = 1; i < kept.length; i++) assert.equal(kept[i], kept[i - 1] + 1);
  });
  await withLog({ maxSize: 500, maxFile: 1 }, (log, path) => {
    for (let i = 0; i < 100; i++) log.write("stderr", enc.encode(`line ${i}\n`));
    log.close();
    assert.ok(Deno.statSync(path).size <= 500);
    assert.throws(() => Deno.statSync(`${path}.1`));
  });
});

Deno.test("json-file: millions of tiny lines keep up (yes)", async () => {
  await withLog({ maxSize: 4 << 20, maxFile: 2 }, (log) => {
    const chunk = enc.encode("y\n".repeat(32768));
    const t0 = performance.now();
    for (let i = 0; i < 160; i++) log.write("stdout", chunk); // 10 MiB, 5.2 M lines
    log.close();
    const ms = performance.now() - t0;
    assert.ok(ms < 10_000, `${ms} ms`);
  });
});

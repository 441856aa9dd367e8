/**
 * install.sh, with a stand-in for the compiled binary (`deno compile` needs
 * a denort runtime that cannot be downloaded here): a shell script that
 * prints the name it was called by and its arguments, which is what berth
 * dispatches on. Role dispatch of the real program (first argument, unknown
 * role, argv[0] under `deno run`) is tested in runtime/self_exec_test.ts.
 */
import assert from "node:assert/strict";

const INSTALL = new URL("../install.sh", import.meta.url).pathname;
const ROLES = ["docker", "dockerd", "containerd", "shim", "runc"];
const STAND_IN = '#!/bin/sh\necho "${0##*/} $*"\n';

const td = new TextDecoder();

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

function install(args: string[], env: Record<string, string> = {}) {
  return run("bash", [INSTALL, ...args], env);
}

/** A temporary directory with the stand-in binary; `prefix` does not exist yet. */
async function withTemp(fn: (t: { binary: string; prefix: string; bin: string }) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "berth-install-test-" });
  try {
    const binary = `${dir}/berth-stand-in`;
    await Deno.writeTextFile(binary, STAND_IN, { mode: 0o644 });
    const prefix = `${dir}/prefix`;
    await fn({ binary, prefix, bin: `${prefix}/bin` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("install.sh installs the binary 0755 with a symlink per role, each seen as its role", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    const r = await install(["--prefix", prefix, binary]);
    assert.equal(r.code, 0, r.stderr);
    const info = Deno.lstatSync(`${bin}/berth`);
    assert.ok(info.isFile);
    assert.equal(info.mode! & 0o7777, 0o755);
    assert.equal(await Deno.readTextFile(`${bin}/berth`), STAND_IN);
    // Nothing else: no temporary file left behind by the copy-then-rename.
    assert.deepEqual(entries(bin), ["berth", ...ROLES].sort());
    for (const role of ROLES) {
      assert.ok(Deno.lstatSync(`${bin}/${role}`).isSymlink, role);
      assert.equal(Deno.readLinkSync(`${bin}/${role}`), "berth");
      const out = await run(`${bin}/${role}`, ["a", "b"]);
      assert.equal(out.stdout, `${role} a b\n`);
    }
    assert.equal((await run(`${bin}/berth`, ["runc", "list"])).stdout, "berth runc list\n");

    // Installing again over our own install is fine (an upgrade).
    await Deno.writeTextFile(binary, STAND_IN + "# v2\n");
    const again = await install(["--prefix", prefix, binary]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(await Deno.readTextFile(`${bin}/berth`), /# v2/);
    assert.deepEqual(entries(bin), ["berth", ...ROLES].sort());
  });
});

Deno.test("install.sh takes the binary from BERTH_BINARY and --prefix=DIR", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    const r = await install([`--prefix=${prefix}`], { BERTH_BINARY: binary });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await run(`${bin}/dockerd`, [])).stdout, "dockerd \n");
  });
});

Deno.test("install.sh refuses to replace a file or a foreign symlink, and changes nothing", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(`${bin}/docker`, "the real docker\n");
    await Deno.symlink("/usr/sbin/runc", `${bin}/runc`);
    const r = await install(["--prefix", prefix, binary]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to replace/);
    assert.match(r.stderr, new RegExp(`${bin}/docker \\(a file`));
    assert.match(r.stderr, new RegExp(`${bin}/runc \\(a symlink to /usr/sbin/runc\\)`));
    assert.match(r.stderr, /--force/);
    assert.deepEqual(entries(bin), ["docker", "runc"]);
    assert.equal(await Deno.readTextFile(`${bin}/docker`), "the real docker\n");
    assert.equal(Deno.readLinkSync(`${bin}/runc`), "/usr/sbin/runc");
  });
});

Deno.test("install.sh --no-docker leaves docker and runc alone", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(`${bin}/docker`, "the real docker\n");
    const r = await install(["--no-docker", "--prefix", prefix, binary]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(entries(bin), ["berth", "containerd", "docker", "dockerd", "shim"]);
    assert.equal(await Deno.readTextFile(`${bin}/docker`), "the real docker\n");
    assert.equal(lstat(`${bin}/runc`), undefined);
  });
});

Deno.test("install.sh --force replaces what is in the way", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(`${bin}/docker`, "the real docker\n");
    await Deno.symlink("/usr/sbin/runc", `${bin}/runc`);
    const r = await install(["--force", "--prefix", prefix, binary]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Deno.readLinkSync(`${bin}/docker`), "berth");
    assert.equal(Deno.readLinkSync(`${bin}/runc`), "berth");
    assert.equal((await run(`${bin}/docker`, ["ps"])).stdout, "docker ps\n");
  });
});

Deno.test("install.sh --uninstall removes berth and its links, nothing else", async () => {
  await withTemp(async ({ binary, prefix, bin }) => {
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(`${bin}/docker`, "the real docker\n");
    await Deno.writeTextFile(`${bin}/other`, "unrelated\n");
    assert.equal((await install(["--no-docker", "--prefix", prefix, binary])).code, 0);
    const r = await install(["--uninstall", "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /left .*\/docker alone/);
    assert.deepEqual(entries(bin), ["docker", "other"]);
    // Again: nothing left to do is not an error.
    const again = await install(["--uninstall", "--prefix", prefix]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to remove/);
  });
});

Deno.test("install.sh: bad arguments are usage errors (exit 2) and change nothing", async () => {
  await withTemp(async ({ binary, prefix }) => {
    const cases: [string[], RegExp][] = [
      [["--bogus", binary], /unknown option: --bogus/],
      [["--prefix", prefix], /no BINARY given/],
      [["--prefix", prefix, `${binary}.missing`], /does not exist/],
      [["--prefix", prefix, binary.replace(/\/[^/]+$/, "")], /not a regular file/],
      [["--prefix", prefix, binary, "extra"], /too many arguments/],
      [["--prefix"], /--prefix needs a directory/],
      [["--uninstall", "--prefix", prefix, binary], /--uninstall takes no BINARY/],
    ];
    for (const [args, message] of cases) {
      const r = await install(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /--help/);
    }
    assert.equal(lstat(prefix), undefined);
    const help = await install(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: install\.sh/);
  });
});

/**
 * docker cp both ways, side by side with the real Docker CLI against the same
 * test double: the requests (HEAD for the destination, PUT of the tar, GET of
 * the archive), the tar we upload, and the files we extract.
 */
import assert from "node:assert/strict";
import {
  fakeEngine,
  type Recorded,
  type Route,
  runCli,
  runRealDocker,
} from "../tests/helpers/fake_engine.ts";
import { readTar } from "./tar.ts";

const MODE_DIR = 2 ** 31;

function stat(name: string, mode: number, size = 0) {
  const json = JSON.stringify({ name, size, mode, mtime: "2024-01-01T00:00:00Z", linkTarget: "" });
  return btoa(json);
}

async function tarOf(dir: string, name: string): Promise<Uint8Array> {
  const out = await new Deno.Command("tar", {
    args: ["-C", dir, "--numeric-owner", "-cf", "-", name],
    stdout: "piped",
  }).output();
  return out.stdout;
}

async function listing(bytes: Uint8Array) {
  const out: string[] = [];
  for await (
    const { header, body } of readTar((async function* () {
      yield bytes;
    })())
  ) {
    let content = "";
    for await (const c of body) content += new TextDecoder().decode(c);
    out.push(
      `${header.name} ${header.type} ${
        (header.mode & 0o777).toString(8)
      } ${header.size} ${content} ${header.linkname}`,
    );
  }
  return out;
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const e of [...Deno.readDirSync(p)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const full = `${p}/${e.name}`;
      const st = Deno.lstatSync(full);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const extra = st.isFile
        ? Deno.readTextFileSync(full)
        : st.isSymlink
        ? "-> " + Deno.readLinkSync(full)
        : "";
      out.push(
        `${r} ${st.isDirectory ? "d" : st.isSymlink ? "l" : "f"} ${
          (st.mode! & 0o777).toString(8)
        } ${extra}`,
      );
      if (st.isDirectory) walk(full, r);
    }
  };
  walk(dir, "");
  return out;
}

Deno.test("cp: container to host and host to container, as the real CLI does it", async () => {
  const src = await Deno.makeTempDir();
  Deno.mkdirSync(`${src}/dir/sub`, { recursive: true });
  Deno.writeTextFileSync(`${src}/dir/a.txt`, "hello");
  Deno.writeTextFileSync(`${src}/dir/sub/b.txt`, "world");
  Deno.chmodSync(`${src}/dir/sub/b.txt`, 0o755);
  Deno.symlinkSync("a.txt", `${src}/dir/link`);
  Deno.writeTextFileSync(`${src}/hostname`, "myhost\n");
  const dirTar = await tarOf(src, "dir");
  const fileTar = await tarOf(src, "hostname");

  const routes: Record<string, Route> = {
    "HEAD /containers/{id}/archive": (r) => {
      const p = r.query.get("path")!;
      if (p === "/tmp" || p === "/tmp/") {
        return {
          headers: { "X-Docker-Container-Path-Stat": stat("tmp", MODE_DIR + 0o1777, 4096) },
        };
      }
      if (p === "/etc/hostname") {
        return { headers: { "X-Docker-Container-Path-Stat": stat("hostname", 0o644, 7) } };
      }
      return { status: 404, json: { message: `Could not find the file ${p} in container foo` } };
    },
    "PUT /containers/{id}/archive": { status: 200 },
    "GET /containers/{id}/archive": (r) => {
      const p = r.query.get("path")!;
      if (p === "/dir") {
        return {
          body: dirTar,
          headers: {
            "X-Docker-Container-Path-Stat": stat("dir", MODE_DIR + 0o755, 4096),
            "Content-Type": "application/x-tar",
          },
        };
      }
      if (p === "/etc/hostname") {
        return {
          body: fileTar,
          headers: {
            "X-Docker-Container-Path-Stat": stat("hostname", 0o644, 7),
            "Content-Type": "application/x-tar",
          },
        };
      }
      return { status: 404, json: { message: `Could not find the file ${p} in container foo` } };
    },
  };
  const e = await fakeEngine(routes);
  const base = await Deno.makeTempDir();
  try {
    // Container → host: into a directory, to a new name, over a file, as a tar to stdout.
    for (
      const [label, args] of [
        ["into a dir", (d: string) => ["cp", "foo:/dir", d]],
        ["new name", (d: string) => ["cp", "foo:/dir", `${d}/renamed`]],
        ["file into dir", (d: string) => ["cp", "foo:/etc/hostname", d]],
        ["file new name", (d: string) => ["cp", "foo:/etc/hostname", `${d}/hn`]],
        ["missing", (d: string) => ["cp", "foo:/nope", d]],
        ["bad parent", (d: string) => ["cp", "foo:/etc/hostname", `${d}/no/such/x`]],
      ] as const
    ) {
      const ours = `${base}/ours-${label.replaceAll(" ", "_")}`,
        theirs = `${base}/theirs-${label.replaceAll(" ", "_")}`;
      Deno.mkdirSync(ours);
      Deno.mkdirSync(theirs);
      const rt = await runRealDocker(e, args(theirs));
      const ro = await runCli(e, args(ours));
      assert.equal(ro.code, rt.code, label);
      assert.equal(ro.stderr.replaceAll(ours, "D"), rt.stderr.replaceAll(theirs, "D"), label);
      assert.deepEqual(tree(ours), tree(theirs), label);
    }
    const rt = await runRealDocker(e, ["cp", "foo:/dir", "-"]);
    const ro = await runCli(e, ["cp", "foo:/dir", "-"]);
    assert.equal(ro.code, 0);
    assert.deepEqual(
      new TextEncoder().encode(rt.stdout),
      ro.io.stdoutBytes.length ? new TextEncoder().encode(ro.stdout) : new Uint8Array(),
    );

    // Host → container: into a directory, to a new name, a missing source.
    const puts = (reqs: Recorded[]) =>
      reqs.filter((r) => r.method !== "HEAD" || true).filter((r) => r.path !== "/_ping");
    for (
      const args of [
        ["cp", `${src}/dir`, "foo:/tmp"],
        ["cp", `${src}/dir`, "foo:/newdir"],
        ["cp", `${src}/hostname`, "foo:/etc/hostname"],
        ["cp", "-a", `${src}/hostname`, "foo:/tmp/"],
        ["cp", `${src}/nope`, "foo:/tmp"],
        ["cp", `${src}/dir`, "foo:/nonexistent/"],
        ["cp", `${src}/hostname`, "foo:/nonexistent/"],
        ["cp", `${src}/dir/.`, "foo:/tmp"],
      ]
    ) {
      const before = e.requests.length;
      const theirs = await runRealDocker(e, args);
      const mid = e.requests.length;
      const ours = await runCli(e, args);
      const what = args.join(" ");
      assert.equal(ours.code, theirs.code, what);
      // The real CLI sometimes logs its own tar goroutine's races, and a Go HTTP notice.
      const noise = /^.*(Unsolicited response|level=error msg="Can't).*\n/gm;
      assert.equal(ours.stderr, theirs.stderr.replace(noise, ""), what);
      const a = puts(e.requests.slice(before, mid)), b = puts(e.requests.slice(mid));
      assert.deepEqual(
        b.map((r) => `${r.method} ${[...r.query].sort().join("&")}`),
        a.map((r) => `${r.method} ${[...r.query].sort().join("&")}`),
        what,
      );
      const put = (l: Recorded[]) => l.find((r) => r.method === "PUT");
      if (put(a)) {
        assert.equal(put(b)!.headers.get("content-type"), "application/x-tar");
        assert.deepEqual(await listing(put(b)!.body), await listing(put(a)!.body), what);
      }
    }
  } finally {
    await e.close();
    await Deno.remove(src, { recursive: true });
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("tar: long names through PAX records, GNU long names read", async () => {
  const { tarHeader, TAR_END, tarPadding } = await import("./tar.ts");
  const long = "d/" + "x".repeat(150);
  const content = new TextEncoder().encode("abc");
  const bytes = new Uint8Array([
    ...tarHeader({
      name: long,
      type: "file",
      mode: 0o640,
      uid: 1,
      gid: 2,
      size: 3,
      mtime: 1000,
      linkname: "",
    }),
    ...content,
    ...tarPadding(3),
    ...TAR_END,
  ]);
  assert.deepEqual(await listing(bytes), [`${long} file 640 3 abc `]);
  // The system tar reads what we write.
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeFileSync(`${dir}/t.tar`, bytes);
    const out = await new Deno.Command("tar", { args: ["-tvf", `${dir}/t.tar`], stdout: "piped" })
      .output();
    assert.match(new TextDecoder().decode(out.stdout), new RegExp(long));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { mergeCommand } from "./create.ts";
import { resolveUser } from "./user.ts";

Deno.test("entrypoint and cmd merge with the image's as dockerd's", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default"] };
  assert.deepEqual(mergeCommand({}, image), { Entrypoint: ["/entry"], Cmd: ["default"] });
  assert.deepEqual(mergeCommand({ Cmd: ["x"] }, image), { Entrypoint: ["/entry"], Cmd: ["x"] });
  // An entrypoint given at create drops the image's Cmd.
  assert.deepEqual(mergeCommand({ Entrypoint: ["/o"] }, image), { Entrypoint: ["/o"], Cmd: null });
  // `--entrypoint ""` resets it: the command is the Cmd given, never the image's.
  assert.deepEqual(mergeCommand({ Entrypoint: [""], Cmd: ["echo"] }, image), {
    Entrypoint: null,
    Cmd: ["echo"],
  });
  assert.throws(() => mergeCommand({ Entrypoint: [""] }, image), /^.*No command specified$/);
  // An empty list (not null) keeps the image's entrypoint away.
  assert.deepEqual(mergeCommand({ Entrypoint: [], Cmd: ["sh"] }, image), {
    Entrypoint: [],
    Cmd: ["sh"],
  });
  assert.deepEqual(mergeCommand({ Entrypoint: "sh", Cmd: "-c" }, {}), {
    Entrypoint: ["sh"],
    Cmd: ["-c"],
  });
  assert.throws(() => mergeCommand({}, {}), /No command specified/);
});

Deno.test("users and groups resolve as dockerd's getUser", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/etc`);
    Deno.writeTextFileSync(`${dir}/etc/passwd`, "root:x:0:0::/root:/bin/sh\nu:x:1000:1000::/:/\n");
    Deno.writeTextFileSync(`${dir}/etc/group`, "root:x:0:\nu:x:1000:\nextra:x:2000:u\n");
    const user = (spec: string, add: string[] = []) => resolveUser(spec, [dir], add);
    // The primary group is always among the supplementary ones.
    assert.deepEqual(user(""), { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(user("u"), { uid: 1000, gid: 1000, additionalGids: [1000, 2000] });
    // A named group replaces the memberships.
    assert.deepEqual(user("u:extra"), { uid: 1000, gid: 2000, additionalGids: [2000] });
    assert.deepEqual(user("4242:4343"), { uid: 4242, gid: 4343, additionalGids: [4343] });
    assert.deepEqual(user("0", ["extra", "3000"]), {
      uid: 0,
      gid: 0,
      additionalGids: [0, 2000, 3000],
    });
    assert.throws(() => user("ghost"), /unable to find user ghost: no matching entries/);
    assert.throws(() => user("0", ["ghost"]), /Unable to find group ghost/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

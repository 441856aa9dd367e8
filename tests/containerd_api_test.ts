/**
 * berth's containerd API (everything but tasks) through a real daemon:
 * version, introspection, namespaces, containers (CRUD, filters, field-mask
 * updates, containerd's errors), events (filters, Publish, Forward),
 * namespace isolation and the namespace header.
 */
import assert from "node:assert/strict";
import {
  Client,
  containerReq,
  type Daemon,
  failure,
  SPEC_TYPE_URL,
  startDaemon,
  Status,
} from "./helpers/containerd_api.ts";
import { encodeAny } from "../daemon/containerd/proto.ts";

const T = { sanitizeOps: false, sanitizeResources: false } as const;

async function withDaemon(fn: (d: Daemon, c: Client) => Promise<void>): Promise<void> {
  const d = await startDaemon();
  const c = new Client(d.address);
  let failed = true;
  try {
    await fn(d, c);
    failed = false;
  } finally {
    c.close();
    if (failed) console.error(`--- daemon log ---\n${d.log().slice(-6000)}`);
    await d.cleanup();
  }
}

Deno.test("containerd api: version and introspection", T, async () => {
  await withDaemon(async (d, c) => {
    const v = await c.call("version", "Version", undefined);
    assert.match(v.version, /^1\.6\.\d+\+berth/);
    assert.ok(v.revision);
    const s1 = await c.call("introspection", "Server", undefined);
    assert.match(s1.uuid, /^[0-9a-f-]{36}$/);
    assert.equal(s1.pid, d.proc.pid);

    const all = await c.call("introspection", "Plugins", undefined, {});
    const ids = all.plugins.map((p: any) => `${p.type}.${p.id}`);
    for (const s of ["containers", "events", "introspection", "namespaces", "tasks", "version"]) {
      assert.ok(ids.includes(`io.containerd.grpc.v1.${s}`), ids.join(" "));
    }
    const grpcOnly = await c.call("introspection", "Plugins", undefined, {
      filters: ['type=="io.containerd.grpc.v1",id~=^(tasks|events)$'],
    });
    assert.deepEqual(grpcOnly.plugins.map((p: any) => p.id).sort(), ["events", "tasks"]);
    assert.equal(
      (await failure(c.call("introspection", "Plugins", undefined, { filters: ["id=="] }))).code,
      Status.INVALID_ARGUMENT,
    );

    // The UUID is the daemon's, kept across restarts.
    c.close();
    assert.equal(await d.stop(), 0);
    await d.restart();
    const c2 = new Client(d.address);
    try {
      assert.equal((await c2.call("introspection", "Server", undefined)).uuid, s1.uuid);
    } finally {
      c2.close();
    }
  });
});

Deno.test("containerd api: namespaces", T, async () => {
  await withDaemon(async (_d, c) => {
    const ev = c.subscribe(["topic~=^/namespaces/"]);
    try {
      const created = await c.call("namespaces", "Create", undefined, {
        namespace: { name: "ns-one", labels: { a: "1", empty: "" } },
      });
      assert.deepEqual(created.namespace, { name: "ns-one", labels: { a: "1" } });
      const dup = await failure(
        c.call("namespaces", "Create", undefined, { namespace: { name: "ns-one" } }),
      );
      assert.equal(dup.code, Status.ALREADY_EXISTS);
      assert.equal(dup.details, 'namespace "ns-one": already exists');
      const bad = await failure(
        c.call("namespaces", "Create", undefined, { namespace: { name: "no/slash" } }),
      );
      assert.equal(bad.code, Status.INVALID_ARGUMENT);
      assert.match(bad.details, /identifier "no\/slash" must match/);
      const tooBig = await failure(c.call("namespaces", "Create", undefined, {
        namespace: { name: "big", labels: { k: "x".repeat(5000) } },
      }));
      assert.equal(tooBig.code, Status.INVALID_ARGUMENT);

      await c.call("namespaces", "Create", "default", { namespace: { name: "ns-two" } });
      const list = await c.call("namespaces", "List", undefined, {});
      assert.deepEqual(list.namespaces.map((n: any) => n.name), ["ns-one", "ns-two"]);
      assert.deepEqual(
        (await c.call("namespaces", "Get", undefined, { name: "ns-one" })).namespace,
        {
          name: "ns-one",
          labels: { a: "1" },
        },
      );
      const missing = await failure(c.call("namespaces", "Get", undefined, { name: "nope" }));
      assert.equal(missing.code, Status.NOT_FOUND);
      assert.equal(missing.details, 'namespace "nope": not found');

      // Update with a mask touches only the named labels; without one it replaces them.
      const masked = await c.call("namespaces", "Update", undefined, {
        namespace: { name: "ns-one", labels: { b: "2", a: "ignored" } },
        update_mask: { paths: ["labels.b"] },
      });
      assert.deepEqual(masked.namespace.labels, { a: "1", b: "2" });
      const cleared = await c.call("namespaces", "Update", undefined, {
        namespace: { name: "ns-one" },
        update_mask: { paths: ["labels.a"] },
      });
      assert.deepEqual(cleared.namespace.labels, { b: "2" });
      const replaced = await c.call("namespaces", "Update", undefined, {
        namespace: { name: "ns-one", labels: { c: "3" } },
      });
      assert.deepEqual(replaced.namespace.labels, { c: "3" });
      assert.equal(
        (await failure(c.call("namespaces", "Update", undefined, {
          namespace: { name: "ns-one" },
          update_mask: { paths: ["name"] },
        }))).code,
        Status.INVALID_ARGUMENT,
      );

      // A namespace holding containers cannot go.
      await c.call("containers", "Create", "ns-one", containerReq("c1"));
      const busy = await failure(c.call("namespaces", "Delete", undefined, { name: "ns-one" }));
      assert.equal(busy.code, Status.FAILED_PRECONDITION);
      assert.match(busy.details, /namespace "ns-one" must be empty, but it still has containers/);
      await c.call("containers", "Delete", "ns-one", { id: "c1" });
      await c.call("namespaces", "Delete", undefined, { name: "ns-one" });
      assert.equal(
        (await failure(c.call("namespaces", "Delete", undefined, { name: "ns-one" }))).code,
        Status.NOT_FOUND,
      );

      // Events, in the caller's namespace (or the namespace itself without one).
      const create = await ev.next((e) => e.topic === "/namespaces/create");
      assert.equal(create.type, "containerd.events.NamespaceCreate");
      assert.deepEqual(create.event, { name: "ns-one", labels: { a: "1" } });
      assert.equal(create.namespace, "ns-one");
      const two = await ev.next((e) =>
        e.topic === "/namespaces/create" && e.event.name === "ns-two"
      );
      assert.equal(two.namespace, "default");
      await ev.next((e) => e.topic === "/namespaces/update" && e.event.labels.c === "3");
      const del = await ev.next((e) => e.topic === "/namespaces/delete");
      assert.equal(del.event.name, "ns-one");
    } finally {
      ev.close();
    }
  });
});

Deno.test("containerd api: containers CRUD, filters, updates and errors", T, async () => {
  await withDaemon(async (_d, c) => {
    const NS = "crud";
    const spec = { ociVersion: "1.0.2", process: { args: ["sh"] }, root: { path: "rootfs" } };
    const made = await c.call(
      "containers",
      "Create",
      NS,
      containerReq("web", { labels: { app: "web", tier: "front" }, image: "busybox", spec }),
    );
    const w = made.container;
    assert.equal(w.id, "web");
    assert.equal(w.runtime.name, "io.containerd.runc.v2");
    assert.equal(w.spec.type_url, SPEC_TYPE_URL);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(w.spec.value)), spec);
    assert.ok(w.created_at.seconds > 1_600_000_000);
    assert.deepEqual(w.created_at, w.updated_at);
    await c.call("containers", "Create", NS, containerReq("db", { labels: { app: "db" } }));
    await c.call("containers", "Create", NS, containerReq("cache.1"));

    // Get, List, ListStream, filters.
    const got = (await c.call("containers", "Get", NS, { id: "web" })).container;
    assert.deepEqual(got, w);
    const ids = async (filters: string[]) =>
      (await c.call("containers", "List", NS, { filters })).containers.map((x: any) => x.id);
    assert.deepEqual(await ids([]), ["cache.1", "db", "web"]);
    assert.deepEqual(await ids(["labels.app==web"]), ["web"]);
    assert.deepEqual(await ids(["labels.app"]), ["db", "web"]);
    assert.deepEqual(await ids(["labels.app!=web"]), ["cache.1", "db"]);
    assert.deepEqual(await ids(["id~=^c", "id==web"]), ["cache.1", "web"]);
    assert.deepEqual(await ids(['labels.app==web,labels.tier=="front"']), ["web"]);
    assert.deepEqual(await ids(["labels.app==web,labels.tier==back"]), []);
    assert.deepEqual(await ids(["image==busybox"]), ["web"]);
    assert.deepEqual(await ids(["runtime.name==io.containerd.runc.v2"]), ["cache.1", "db", "web"]);
    assert.equal(
      (await failure(c.call("containers", "List", NS, { filters: ["labels.app=="] }))).code,
      Status.INVALID_ARGUMENT,
    );
    const streamed = await c.stream("containers", "ListStream", NS, { filters: ["labels.app"] });
    assert.deepEqual(streamed.map((m) => m.container.id), ["db", "web"]);

    // Errors, worded as containerd's.
    const dup = await failure(c.call("containers", "Create", NS, containerReq("web")));
    assert.equal(dup.code, Status.ALREADY_EXISTS);
    assert.equal(dup.details, 'container "web": already exists');
    const nf = await failure(c.call("containers", "Get", NS, { id: "nope" }));
    assert.equal(nf.code, Status.NOT_FOUND);
    assert.equal(nf.details, 'container "nope" in namespace "crud": not found');
    const badId = await failure(c.call("containers", "Create", NS, containerReq("bad id")));
    assert.equal(badId.code, Status.INVALID_ARGUMENT);
    assert.match(badId.details, /^container\.ID: identifier "bad id" must match/);
    const empty = await failure(c.call("containers", "Create", NS, { container: {} }));
    assert.equal(empty.code, Status.INVALID_ARGUMENT);
    const noRuntime = containerReq("x1") as any;
    noRuntime.container.runtime = null;
    assert.match(
      (await failure(c.call("containers", "Create", NS, noRuntime))).details,
      /container\.Runtime\.Name must be set/,
    );
    const noSpec = containerReq("x2") as any;
    noSpec.container.spec = null;
    assert.match(
      (await failure(c.call("containers", "Create", NS, noSpec))).details,
      /container\.Spec must be set/,
    );
    const snapKey = containerReq("x3") as any;
    snapKey.container.snapshot_key = "k";
    assert.equal(
      (await failure(c.call("containers", "Create", NS, snapKey))).code,
      Status.INVALID_ARGUMENT,
    );
    // A spec that is not JSON is stored as given (containerd does not read it; task create does).
    const junk = containerReq("junk") as any;
    junk.container.spec.value = new TextEncoder().encode("{not json");
    await c.call("containers", "Create", NS, junk);

    // Update: with a mask only the named fields; labels.<key> with no value removes it.
    await new Promise((r) => setTimeout(r, 5));
    const up = (await c.call("containers", "Update", NS, {
      container: {
        id: "web",
        labels: { tier: "", extra: "yes", app: "ignored" },
        image: "ignored",
      },
      update_mask: { paths: ["labels.tier", "labels.extra"] },
    })).container;
    assert.deepEqual(up.labels, { app: "web", extra: "yes" });
    assert.equal(up.image, "busybox");
    assert.deepEqual(up.created_at, w.created_at);
    assert.ok(
      up.updated_at.seconds * 1e9 + up.updated_at.nanos >
        w.updated_at.seconds * 1e9 + w.updated_at.nanos,
    );
    const img = (await c.call("containers", "Update", NS, {
      container: { id: "web", image: "alpine" },
      update_mask: { paths: ["image"] },
    })).container;
    assert.equal(img.image, "alpine");
    assert.deepEqual(img.labels, { app: "web", extra: "yes" });
    // Without a mask: a full replace of the mutable fields; runtime is immutable.
    const full = containerReq("web", { labels: { only: "this" }, image: "i2" });
    assert.deepEqual((await c.call("containers", "Update", NS, full)).container.labels, {
      only: "this",
    });
    const other = containerReq("web") as any;
    other.container.runtime.name = "io.containerd.other.v1";
    const imm = await failure(c.call("containers", "Update", NS, other));
    assert.equal(imm.code, Status.INVALID_ARGUMENT);
    assert.match(imm.details, /container\.Runtime\.Name field is immutable/);
    const badPath = await failure(c.call("containers", "Update", NS, {
      container: { id: "web" },
      update_mask: { paths: ["runtime"] },
    }));
    assert.equal(badPath.code, Status.INVALID_ARGUMENT);
    assert.match(badPath.details, /cannot update "runtime" field on "web"/);
    const upMissing = await failure(c.call("containers", "Update", NS, containerReq("ghost")));
    assert.equal(upMissing.code, Status.NOT_FOUND);
    assert.equal(
      (await failure(c.call("containers", "Update", NS, { container: {} }))).code,
      Status.INVALID_ARGUMENT,
    );

    // Delete.
    await c.call("containers", "Delete", NS, { id: "db" });
    const gone = await failure(c.call("containers", "Delete", NS, { id: "db" }));
    assert.equal(gone.code, Status.NOT_FOUND);
    assert.equal(gone.details, "container db: not found");
    assert.equal(
      (await failure(c.call("containers", "Delete", "never-used", { id: "db" }))).code,
      Status.NOT_FOUND,
    );
    assert.deepEqual(await ids([]), ["cache.1", "junk", "web"]);
  });
});

Deno.test("containerd api: the namespace header and namespace isolation", T, async () => {
  await withDaemon(async (_d, c) => {
    const none = await failure(c.call("containers", "List", undefined, {}));
    assert.equal(none.code, Status.FAILED_PRECONDITION);
    assert.equal(none.details, "namespace is required: failed precondition");
    for (const m of ["Get", "Create", "Update", "Delete"]) {
      assert.equal(
        (await failure(c.call("containers", m, undefined, {}))).code,
        Status.FAILED_PRECONDITION,
      );
    }
    assert.equal(
      (await failure(c.call("tasks", "List", undefined, {}))).code,
      Status.FAILED_PRECONDITION,
    );
    const bad = await failure(c.call("containers", "List", "bad ns", {}));
    assert.equal(bad.code, Status.INVALID_ARGUMENT);
    assert.match(bad.details, /^namespace validation: identifier "bad ns"/);

    // The same id in two namespaces: two containers; each namespace sees its own.
    await c.call("containers", "Create", "ns-a", containerReq("same", { labels: { ns: "a" } }));
    await c.call("containers", "Create", "ns-b", containerReq("same", { labels: { ns: "b" } }));
    await c.call("containers", "Create", "ns-a", containerReq("only-a"));
    assert.equal(
      (await c.call("containers", "Get", "ns-b", { id: "same" })).container.labels.ns,
      "b",
    );
    assert.equal(
      (await failure(c.call("containers", "Get", "ns-b", { id: "only-a" }))).code,
      Status.NOT_FOUND,
    );
    const listB = await c.call("containers", "List", "ns-b", {});
    assert.deepEqual(listB.containers.map((x: any) => x.id), ["same"]);
    await c.call("containers", "Delete", "ns-b", { id: "same" });
    assert.equal(
      (await c.call("containers", "Get", "ns-a", { id: "same" })).container.labels.ns,
      "a",
    );
    // Using a namespace makes it.
    const names = (await c.call("namespaces", "List", undefined, {})).namespaces.map((n: any) =>
      n.name
    );
    assert.deepEqual(names, ["ns-a", "ns-b"]);
  });
});

Deno.test("containerd api: events with filters, Publish and Forward", T, async () => {
  await withDaemon(async (_d, c) => {
    const all = c.subscribe();
    const creates = c.subscribe(['topic=="/containers/create"']);
    const nsA = c.subscribe(["namespace==ev-a"]);
    // "/" and "|" quote too (Docker subscribes with `topic~=|^/tasks/|`).
    const regex = c.subscribe(['topic~="^/containers/(update|delete)$"']);
    const moby = c.subscribe(["namespace==ev-a,topic~=|^/containers/|"]);
    const anded = c.subscribe(['namespace==ev-b,topic=="/containers/delete"']);
    const ored = c.subscribe(['namespace==ev-b,topic=="/containers/create"', "topic~=/delete$/"]);
    const byField = c.subscribe(["event.id==two"]);
    const streams = [all, creates, nsA, regex, moby, anded, ored, byField];
    await new Promise((r) => setTimeout(r, 100)); // subscriptions in place
    try {
      await c.call("containers", "Create", "ev-a", containerReq("one", { image: "img" }));
      await c.call("containers", "Create", "ev-b", containerReq("two"));
      await c.call("containers", "Update", "ev-a", {
        container: { id: "one", labels: { l: "v" } },
        update_mask: { paths: ["labels.l"] },
      });
      await c.call("containers", "Delete", "ev-a", { id: "one" });
      await c.call("containers", "Delete", "ev-b", { id: "two" });
      await all.next((e) => e.topic === "/containers/delete" && e.namespace === "ev-b");
      await new Promise((r) => setTimeout(r, 100)); // anything extra would have arrived
      const seen = (s: typeof all) => s.events.map((e) => `${e.namespace}${e.topic}`);

      assert.deepEqual(seen(all), [
        "ev-a/containers/create",
        "ev-b/containers/create",
        "ev-a/containers/update",
        "ev-a/containers/delete",
        "ev-b/containers/delete",
      ]);
      const ev = all.events[0];
      assert.equal(ev.type, "containerd.events.ContainerCreate");
      assert.deepEqual(ev.event, {
        id: "one",
        image: "img",
        runtime: { name: "io.containerd.runc.v2", options: null },
      });
      assert.ok(ev.timestamp.seconds > 1_600_000_000);
      assert.deepEqual(all.events[2].event, {
        id: "one",
        image: "img",
        labels: { l: "v" },
        snapshot_key: "",
      });
      assert.equal(all.events[2].type, "containerd.events.ContainerUpdate");
      assert.deepEqual(all.events[3].event, { id: "one" });
      assert.equal(all.events[3].type, "containerd.events.ContainerDelete");

      assert.deepEqual(seen(creates), ["ev-a/containers/create", "ev-b/containers/create"]);
      assert.deepEqual(seen(nsA), [
        "ev-a/containers/create",
        "ev-a/containers/update",
        "ev-a/containers/delete",
      ]);
      assert.deepEqual(seen(regex), [
        "ev-a/containers/update",
        "ev-a/containers/delete",
        "ev-b/containers/delete",
      ]);
      assert.deepEqual(seen(moby), seen(nsA));
      assert.deepEqual(seen(anded), ["ev-b/containers/delete"]);
      assert.deepEqual(seen(ored), [
        "ev-b/containers/create",
        "ev-a/containers/delete",
        "ev-b/containers/delete",
      ]);
      assert.deepEqual(seen(byField), ["ev-b/containers/create", "ev-b/containers/delete"]);

      // Publish: in the caller's namespace, of an already encoded event.
      const exit = encodeAny("containerd.events.TaskExit", {
        container_id: "x",
        pid: 42,
        exit_status: 3,
        exited_at: { seconds: 1_700_000_000, nanos: 1 },
      });
      const exits = c.subscribe(['topic=="/tasks/exit",event.container_id==x']);
      await new Promise((r) => setTimeout(r, 50));
      streams.push(exits);
      await c.call("events", "Publish", "ev-c", { topic: "/tasks/exit", event: exit });
      const got = await exits.next(() => true);
      assert.equal(got.namespace, "ev-c");
      assert.equal(got.event.pid, 42);
      assert.equal(got.event.exit_status, 3);
      assert.equal(
        (await failure(
          c.call("events", "Publish", undefined, { topic: "/tasks/exit", event: exit }),
        ))
          .code,
        Status.FAILED_PRECONDITION,
      );
      for (const topic of ["", "tasks/exit", "/", "/tasks//exit", "/bad topic"]) {
        const f = await failure(c.call("events", "Publish", "ev-c", { topic, event: exit }));
        assert.equal(f.code, Status.INVALID_ARGUMENT, topic);
      }

      // Forward keeps the envelope's namespace and time.
      await c.call("events", "Forward", undefined, {
        envelope: {
          timestamp: { seconds: 1_600_000_001, nanos: 7 },
          namespace: "fwd",
          topic: "/tasks/exit",
          event: exit,
        },
      });
      const fwd = await all.next((e) => e.namespace === "fwd");
      assert.deepEqual(fwd.timestamp, { seconds: 1_600_000_001, nanos: 7 });
      assert.equal(fwd.event.container_id, "x");
      const noTime = await failure(c.call("events", "Forward", undefined, {
        envelope: { namespace: "fwd", topic: "/tasks/exit", event: exit },
      }));
      assert.equal(noTime.code, Status.INVALID_ARGUMENT);

      // A malformed filter ends the subscription with INVALID_ARGUMENT.
      const broken = c.subscribe(["topic=="]);
      await broken.ended();
      assert.equal(broken.error?.code, Status.INVALID_ARGUMENT);
    } finally {
      for (const s of streams) s.close();
    }
  });
});

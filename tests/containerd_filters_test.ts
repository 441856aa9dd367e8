/** containerd's filter syntax as berth's containerd parses it (no daemon needed). */
import assert from "node:assert/strict";
import {
  type Adaptor,
  objectAdaptor,
  parseFilter,
  parseFilters,
} from "../daemon/containerd/filters.ts";
import { ContainerdError } from "../daemon/containerd/context.ts";

const obj: Adaptor = objectAdaptor({
  topic: "/tasks/exit",
  name: "a,b c",
  flag: true,
  count: 3,
  labels: { "io.x/y": "1", empty: "" },
  nested: { id: "n1" },
});

Deno.test("filters: operators, quoting, AND and OR", () => {
  const m = (s: string) => parseFilter(s)(obj);
  assert.ok(m("topic"));
  assert.ok(!m("missing"));
  assert.ok(m('topic=="/tasks/exit"'));
  assert.ok(m("topic~=|^/tasks/|"));
  assert.ok(m("topic~=/exit$/"));
  assert.ok(m("topic!=other"));
  assert.ok(m("missing!=x"), "!= matches an absent field");
  assert.ok(m('name=="a,b c"'));
  assert.ok(m('name=="a\\x2cb\\u0020c"'));
  assert.ok(m("flag==true"));
  assert.ok(!m("count"), "numbers are not filterable, as in containerd");
  assert.ok(m('labels."io.x/y"==1'));
  assert.ok(m("labels.empty"), "a present empty label");
  assert.ok(m("nested.id==n1"));
  assert.ok(m(' topic == "/tasks/exit" , flag==true '));
  assert.ok(!m('topic=="/tasks/exit",flag==false'));
  assert.ok(parseFilters(['topic=="/x"', "flag==true"])(obj));
  assert.ok(!parseFilters(['topic=="/x"', "flag==false"])(obj));
  assert.ok(parseFilters([])(obj));
});

Deno.test("filters: syntax errors are INVALID_ARGUMENT", () => {
  for (
    const bad of [
      "",
      "topic==",
      "topic==a b",
      "==x",
      'topic=="open',
      "topic~=/(/",
      "a,",
      "a.,b",
      "-x",
    ]
  ) {
    assert.throws(() => parseFilter(bad), (e) => e instanceof ContainerdError && e.code === 3, bad);
  }
});

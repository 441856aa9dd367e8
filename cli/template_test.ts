import assert from "node:assert/strict";
import { sprintf, Template, TemplateError } from "./template.ts";

const render = (src: string, data: unknown) => new Template(src).execute(data);

Deno.test("fields, chains, maps and missing keys", () => {
  const d = { A: { B: "x", N: 3 }, L: ["a", "b"], M: { z: 1, a: "q" }, Nil: null };
  assert.equal(render("{{.A.B}}-{{.A.N}}", d), "x-3");
  assert.equal(render("{{.L}}", d), "[a b]");
  assert.equal(render("{{.M}}", d), "map[a:q z:1]");
  assert.equal(render("{{.Missing}}", d), "<no value>");
  assert.equal(render("{{.Nil}}", d), "<nil>");
  assert.equal(render("{{.}}", "plain"), "plain");
  assert.throws(() => render("{{.Nil.X}}", d), /nil pointer evaluating interface \{\}\.X/);
});

Deno.test("struct contexts: methods with arguments, unknown fields are errors", () => {
  const ctx = {
    goType: "*formatter.ContainerContext",
    ID: "abc",
    Label(k: string) {
      return k === "a" ? "1" : "";
    },
  };
  assert.equal(render('{{.ID}} {{.Label "a"}}', ctx), "abc 1");
  assert.throws(
    () => render("{{.Nope}}", ctx),
    (e: Error) =>
      e instanceof TemplateError &&
      e.message ===
        'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
  );
});

Deno.test("functions: json, index, join, split, upper, lower, title, pad, truncate, len", () => {
  const d = { L: { "com.x": "v" }, S: ["a", "b"], T: "hello world" };
  assert.equal(render("{{json .}}", { a: 1, b: "<x>" }), '{"a":1,"b":"<x>"}');
  assert.equal(render('{{index .L "com.x"}}|{{index .L "nope"}}', d), "v|");
  assert.equal(render('{{join .S ","}}', d), "a,b");
  assert.equal(render('{{split .T " "}}', d), "[hello world]");
  assert.equal(render("{{upper .T}} {{title .T}}", d), "HELLO WORLD Hello World");
  assert.equal(render("{{pad .T 1 2}}|", d), " hello world  |");
  assert.equal(render("{{truncate .T 5}}", d), "hello");
  assert.equal(render("{{len .S}} {{len .T}}", d), "2 11");
  assert.equal(render("{{index .S 1}}", d), "b");
  assert.equal(render("{{.T | upper | lower}}", d), "hello world");
  assert.equal(render('{{printf "%-5s|%3d|%q" "ab" 7 "x"}}', {}), 'ab   |  7|"x"');
});

Deno.test("if / else if / else, with, comparisons, and/or/not", () => {
  const t = "{{if eq .N 1}}one{{else if gt .N 5}}big{{else}}other{{end}}";
  assert.equal(render(t, { N: 1 }), "one");
  assert.equal(render(t, { N: 9 }), "big");
  assert.equal(render(t, { N: 3 }), "other");
  assert.equal(render("{{with .A}}[{{.}}]{{else}}none{{end}}", { A: "x" }), "[x]");
  assert.equal(render("{{with .A}}[{{.}}]{{else}}none{{end}}", { A: "" }), "none");
  assert.equal(render('{{if and .A (not .B)}}y{{end}}{{or .B "dflt"}}', { A: 1, B: 0 }), "ydflt");
  assert.equal(
    render('{{if ne .S "x"}}ne{{end}}{{if eq .S "a" "b"}}in{{end}}', { S: "b" }),
    "nein",
  );
  assert.equal(render("{{if .E}}y{{else}}n{{end}}", { E: [] }), "n");
  assert.equal(render("{{if .E}}y{{else}}n{{end}}", { E: {} }), "n");
});

Deno.test("range over lists, maps, with variables, break, continue and else", () => {
  const d = { L: ["a", "b", "c"], M: { b: 2, a: 1 }, E: [] };
  assert.equal(render("{{range .L}}<{{.}}>{{end}}", d), "<a><b><c>");
  assert.equal(render("{{range $i, $v := .L}}{{$i}}={{$v}} {{end}}", d), "0=a 1=b 2=c ");
  assert.equal(render("{{range $k, $v := .M}}{{$k}}:{{$v}};{{end}}", d), "a:1;b:2;");
  assert.equal(render("{{range .E}}x{{else}}empty{{end}}", d), "empty");
  assert.equal(
    render(
      '{{range .L}}{{if eq . "b"}}{{continue}}{{end}}{{if eq . "c"}}{{break}}{{end}}{{.}}{{end}}',
      d,
    ),
    "a",
  );
  assert.equal(render("{{range .L}}{{$.X}}{{end}}", { ...d, X: "!" }), "!!!");
  assert.equal(render("{{$x := .X}}{{range .L}}{{$x}}{{end}}", { ...d, X: 1 }), "111");
  assert.equal(render("{{$x := 1}}{{$x = 2}}{{$x}}", {}), "2");
});

Deno.test("trim markers and comments", () => {
  assert.equal(render("a  {{- .X -}}  b", { X: 1 }), "a1b");
  assert.equal(render("a {{/* hidden */}}b", {}), "a b");
  assert.equal(render("a\n{{- /* c */ -}}\nb", {}), "ab");
  assert.equal(render("{{-3}}", {}), "-3");
});

Deno.test("parse errors name the line; unknown functions are refused", () => {
  assert.throws(() => new Template("{{.Foo"), /template: :1: unclosed action/);
  assert.throws(() => new Template("{{foo}}"), /template: :1: function "foo" not defined/);
  assert.throws(() => new Template("x\n{{if .A}}"), /template: :2: unexpected EOF/);
  assert.throws(() => new Template("{{end}}"), /unexpected \{\{end\}\}/);
  assert.throws(() => new Template("{{break}}"), /outside \{\{range\}\}/);
});

Deno.test("numbers print as Go prints them", () => {
  assert.equal(
    render("{{.A}} {{.B}} {{.C}}", { A: 12345678, B: 0.5, C: 1e21 }),
    "12345678 0.5 1e+21",
  );
});

Deno.test("sprintf verbs", () => {
  assert.equal(
    sprintf("%s %v %d %5.2f %x %t %%", "a", [1, 2], 42, 3.14159, 255, true),
    "a [1 2] 42  3.14 ff true %",
  );
  assert.equal(sprintf("%05d|%-4d|", 42, 7), "00042|7   |");
  assert.equal(sprintf("%s"), "%!s(MISSING)");
});

Deno.test("errors point at the field of a chain that failed", () => {
  const ctx = { goType: "*x.T", Client: { goType: "x.C", A: 1 } };
  assert.throws(
    () => render("{{.Client.Foo}}", ctx),
    /template: :1:9: executing "" at <\.Client\.Foo>: can't evaluate field Foo in type x\.C/,
  );
  assert.throws(() => render("ab {{$.Client.Nope}}", ctx), /:1:13: /);
});

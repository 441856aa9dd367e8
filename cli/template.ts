/**
 * A Go text/template interpreter for `--format`: actions with trim markers
 * (`{{- x -}}`), comments, pipelines, variables (`$`, `$x := ...`), field
 * chains and method calls (`.Label "k"`), parenthesized pipelines, if / else
 * if / range (with `$i, $v :=`, break, continue) / with / else, Go's builtin
 * functions (and, or, not, len, index, slice, print, printf, println, eq, ne,
 * lt, le, gt, ge) and the Docker CLI's (json, split, join, title, lower,
 * upper, pad, truncate). Values print as Go's fmt does for the shapes JSON
 * gives (numbers, strings, lists as [a b], maps as map[k:v]).
 */

export class TemplateError extends Error {
  /** What an execution wrote before it failed. */
  partial = "";
}

export interface ExecOptions {
  /** A missing map key is an error (Go's missingkey=error), not "<no value>". */
  missingKeyError?: boolean;
  /** Print objects with exported field names as Go structs (see {@link goString}). */
  structs?: boolean;
}

/** A missing map key: prints as Go's "<no value>". */
export const NO_VALUE = Symbol("no value");

/**
 * Objects whose fields are Go struct fields (the CLI's format contexts): a
 * missing field is an error rather than "<no value>". `goType` names the type
 * in errors, as "*formatter.ContainerContext".
 */
export interface Struct {
  readonly goType: string;
}

export function isStruct(v: unknown): v is Struct {
  return typeof v === "object" && v !== null && typeof (v as Struct).goType === "string";
}

// deno-lint-ignore no-explicit-any
export type Func = (...args: any[]) => unknown;

// ---- lexer ----

type TokKind =
  | "field"
  | "var"
  | "dot"
  | "ident"
  | "string"
  | "number"
  | "char"
  | "lparen"
  | "rparen"
  | "pipe"
  | "declare"
  | "assign"
  | "comma"
  | "eof";

interface Tok {
  kind: TokKind;
  text: string;
  /** Offset in the template source. */
  pos: number;
  /** Whitespace came before this token (separates a chain from the next argument). */
  space: boolean;
}

function lexAction(src: string, start: number, end: number): Tok[] {
  const toks: Tok[] = [];
  let i = start;
  let space = false;
  const push = (kind: TokKind, text: string, pos: number) => {
    toks.push({ kind, text, pos, space });
    space = false;
  };
  const isIdent = (c: string) => /[A-Za-z0-9_]/.test(c);
  while (i < end) {
    const c = src[i];
    if (/\s/.test(c)) {
      space = true;
      i++;
    } else if (c === ".") {
      if (i + 1 < end && /[A-Za-z_]/.test(src[i + 1])) {
        let j = i + 1;
        while (j < end && isIdent(src[j])) j++;
        push("field", src.slice(i + 1, j), i);
        i = j;
      } else if (i + 1 < end && /[0-9]/.test(src[i + 1])) {
        const m = /^\.[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i, end))!;
        push("number", m[0], i);
        i += m[0].length;
      } else {
        push("dot", ".", i);
        i++;
      }
    } else if (c === "$") {
      let j = i + 1;
      while (j < end && isIdent(src[j])) j++;
      push("var", src.slice(i, j), i);
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      while (j < end && src[j] !== '"') {
        if (src[j] === "\\") j++;
        if (src[j] === "\n") throw new TemplateError(`unterminated quoted string`);
        j++;
      }
      if (j >= end) throw new TemplateError(`unterminated quoted string`);
      push("string", unquote(src.slice(i, j + 1)), i);
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0 || j >= end) throw new TemplateError(`unterminated raw quoted string`);
      push("string", src.slice(i + 1, j), i);
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      if (src[j] === "\\") j++;
      j++;
      if (src[j] !== "'") throw new TemplateError(`unterminated character constant`);
      push("char", unquote('"' + src.slice(i + 1, j) + '"'), i);
      i = j + 1;
    } else if (
      /[0-9+-]/.test(c) &&
      /^[+-]?(?:0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9]+)?)/.test(src.slice(i, end))
    ) {
      const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9]+)?)/.exec(
        src.slice(i, end),
      )!;
      push("number", m[0], i);
      i += m[0].length;
    } else if (c === "(") {
      push("lparen", c, i++);
    } else if (c === ")") {
      push("rparen", c, i++);
    } else if (c === "|") {
      push("pipe", c, i++);
    } else if (c === ",") {
      push("comma", c, i++);
    } else if (c === ":" && src[i + 1] === "=") {
      push("declare", ":=", i);
      i += 2;
    } else if (c === "=") {
      push("assign", "=", i++);
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < end && isIdent(src[j])) j++;
      push("ident", src.slice(i, j), i);
      i = j;
    } else {
      throw new TemplateError(`unexpected "${c}" in command`);
    }
  }
  toks.push({ kind: "eof", text: "", pos: end, space });
  return toks;
}

function unquote(q: string): string {
  try {
    return JSON.parse(q.replace(/\\([abfvx'])([0-9a-fA-F]{0,2})/g, (_, c, hex) => {
      switch (c) {
        case "a":
          return "\\u0007" + hex;
        case "v":
          return "\\u000b" + hex;
        case "x":
          return "\\u00" + hex.padStart(2, "0");
        case "'":
          return "'" + hex;
        default:
          return "\\" + c + hex;
      }
    }));
  } catch {
    throw new TemplateError(`invalid syntax: ${q}`);
  }
}

// ---- parse tree ----

/**
 * Where each field of a chain starts in the source: Go reports an error at
 * the field that failed (".Foo" of ".Client.Foo"), not at the chain's start.
 */
const FIELD_POSITIONS = new WeakMap<string[], number[]>();

type Node =
  | { t: "text"; text: string }
  | { t: "action"; pipe: Pipe; pos: number }
  | { t: "if" | "with"; pipe: Pipe; list: Node[]; else?: Node[]; pos: number }
  | { t: "range"; pipe: Pipe; list: Node[]; else?: Node[]; pos: number }
  | { t: "break" | "continue" };

interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
}

type Arg =
  | { t: "field"; chain: string[]; pos: number; src: string }
  | { t: "var"; name: string; chain: string[]; pos: number; src: string }
  | { t: "dot" }
  | { t: "ident"; name: string; pos: number }
  | { t: "const"; value: unknown }
  | { t: "pipe"; pipe: Pipe; chain: string[]; pos: number; src: string };

const KEYWORDS = new Set([
  "if",
  "else",
  "end",
  "range",
  "with",
  "break",
  "continue",
  "define",
  "template",
  "block",
]);

class Parser {
  private i = 0;
  private toks: Tok[] = [];
  private rangeDepth = 0;
  /** Variables in scope, innermost last ($ always). */
  private vars: string[] = ["$"];

  constructor(private src: string, private funcs: Record<string, Func>) {}

  /** Splits the source into text and actions, handling trim markers and comments. */
  private *pieces(): Generator<{ text: string } | { action: [number, number] }> {
    const src = this.src;
    let pos = 0;
    let trimNext = false;
    while (pos <= src.length) {
      const open = src.indexOf("{{", pos);
      let text = open < 0 ? src.slice(pos) : src.slice(pos, open);
      if (trimNext) text = text.replace(/^\s+/, "");
      if (open < 0) {
        if (text) yield { text };
        return;
      }
      let start = open + 2;
      const trimLeft = src.startsWith("- ", start) || src.startsWith("-\t", start) ||
        src.startsWith("-\n", start) || src.startsWith("-\r", start);
      if (trimLeft) {
        text = text.replace(/\s+$/, "");
        start += 1;
      }
      if (text) yield { text };
      this.at = open;
      const close = src.indexOf("}}", start);
      if (close < 0) throw new TemplateError(`unclosed action`);
      let end = close;
      trimNext = false;
      if (/\s-$/.test(src.slice(start, close))) {
        end = close - 1;
        trimNext = true;
      }
      const inner = src.slice(start, end).trim();
      if (inner.startsWith("/*")) {
        if (!inner.endsWith("*/")) throw new TemplateError(`unclosed comment`);
      } else {
        yield { action: [start, end] };
      }
      pos = close + 2;
    }
  }

  /** Where the action being parsed starts (for messages that name no line). */
  private at = 0;

  parse(): Node[] {
    try {
      const it = this.pieces();
      const [list, stop] = this.parseList(it);
      if (stop !== "eof") throw new TemplateError(`unexpected {{${stop}}}`);
      return list;
    } catch (e) {
      if (e instanceof TemplateError && !/^\d/.test(e.message)) {
        throw new TemplateError(`${this.line(this.at)}: ${e.message}`);
      }
      throw e;
    }
  }

  /** Go's parse errors name the line only. */
  private line(pos: number): string {
    return String(this.src.slice(0, pos).split("\n").length);
  }

  /** Parses nodes until {{end}} / {{else ...}} / EOF; returns which stopped it. */
  private parseList(
    it: Generator<{ text: string } | { action: [number, number] }>,
  ): [Node[], string, number] {
    const list: Node[] = [];
    for (;;) {
      const n = it.next();
      if (n.done) return [list, "eof", this.src.length];
      const piece = n.value;
      if ("text" in piece) {
        list.push({ t: "text", text: piece.text });
        continue;
      }
      const [s, e] = piece.action;
      this.toks = lexAction(this.src, s, e);
      this.i = 0;
      const first = this.toks[0];
      if (first.kind === "ident" && KEYWORDS.has(first.text)) {
        this.i = 1;
        switch (first.text) {
          case "end":
            this.expectEof("end");
            return [list, "end", first.pos];
          case "else":
            return [list, "else", first.pos];
          case "if":
          case "with":
          case "range":
            list.push(this.parseControl(first.text, it, first.pos));
            continue;
          case "break":
          case "continue":
            if (!this.rangeDepth) {
              throw new TemplateError(
                `${this.line(first.pos)}: {{${first.text}}} outside {{range}}`,
              );
            }
            this.expectEof(first.text);
            list.push({ t: first.text });
            continue;
          default:
            throw new TemplateError(`${this.line(first.pos)}: {{${first.text}}} is not supported`);
        }
      }
      if (first.kind === "eof") {
        throw new TemplateError(`${this.line(s)}: missing value for command`);
      }
      list.push({ t: "action", pipe: this.parsePipe("command"), pos: first.pos });
    }
  }

  private expectEof(ctx: string) {
    const t = this.toks[this.i];
    if (t.kind !== "eof") {
      throw new TemplateError(`${this.line(t.pos)}: unexpected "${t.text}" in ${ctx}`);
    }
  }

  private parseControl(
    kind: "if" | "with" | "range",
    it: Generator<{ text: string } | { action: [number, number] }>,
    pos: number,
  ): Node {
    const scope = this.vars.length;
    const pipe = this.parsePipe(kind, kind === "range");
    if (kind === "range") this.rangeDepth++;
    const [list, stop] = this.parseList(it);
    if (kind === "range") this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (stop === "else") {
      // {{else if ...}} / {{else with ...}} nest a new control in the else branch.
      const next = this.toks[this.i];
      if (
        next.kind === "ident" && (next.text === "if" || next.text === "with") && kind !== "range"
      ) {
        this.i++;
        elseList = [this.parseControl(next.text as "if" | "with", it, next.pos)];
        this.vars.length = scope;
        return { t: kind, pipe, list, else: elseList, pos };
      }
      this.expectEof("else");
      const [l2, stop2] = this.parseList(it);
      if (stop2 !== "end") throw new TemplateError(`${this.line(pos)}: unexpected EOF`);
      elseList = l2;
    } else if (stop !== "end") {
      throw new TemplateError(`${this.line(pos)}: unexpected EOF`);
    }
    this.vars.length = scope;
    return { t: kind, pipe, list, else: elseList, pos } as Node;
  }

  private parsePipe(ctx: string, allowTwo = false): Pipe {
    const decl: string[] = [];
    let assign = false;
    // $x := / $x = / $i, $v :=
    const save = this.i;
    if (this.toks[this.i].kind === "var") {
      const names = [this.toks[this.i].text];
      let j = this.i + 1;
      if (allowTwo && this.toks[j].kind === "comma" && this.toks[j + 1]?.kind === "var") {
        names.push(this.toks[j + 1].text);
        j += 2;
      }
      const op = this.toks[j];
      if (op.kind === "declare" || op.kind === "assign") {
        assign = op.kind === "assign";
        decl.push(...names);
        this.i = j + 1;
      } else {
        this.i = save;
      }
    }
    const cmds: Arg[][] = [];
    for (;;) {
      const cmd: Arg[] = [];
      for (;;) {
        const t = this.toks[this.i];
        if (t.kind === "eof" || t.kind === "rparen" || t.kind === "pipe") break;
        cmd.push(this.parseOperand());
      }
      if (!cmd.length) {
        throw new TemplateError(`${this.line(this.toks[this.i].pos)}: missing value for ${ctx}`);
      }
      cmds.push(cmd);
      if (this.toks[this.i].kind !== "pipe") break;
      this.i++;
    }
    if (!assign) {
      for (const d of decl) this.vars.push(d);
    } else {
      for (const d of decl) {
        if (!this.vars.includes(d)) throw new TemplateError(`undefined variable "${d}"`);
      }
    }
    return { decl, assign, cmds };
  }

  /** Field names directly following (no space) the operand just parsed. */
  private chain(first?: Tok): string[] {
    const chain: string[] = first ? [first.text] : [];
    const at: number[] = first ? [first.pos] : [];
    while (this.toks[this.i].kind === "field" && !this.toks[this.i].space) {
      at.push(this.toks[this.i].pos);
      chain.push(this.toks[this.i++].text);
    }
    FIELD_POSITIONS.set(chain, at);
    return chain;
  }

  private parseOperand(): Arg {
    const t = this.toks[this.i++];
    switch (t.kind) {
      case "field": {
        const chain = this.chain(t);
        return { t: "field", chain, pos: t.pos, src: "." + chain.join(".") };
      }
      case "dot":
        return { t: "dot" };
      case "var": {
        if (!this.vars.includes(t.text)) {
          throw new TemplateError(`${this.line(t.pos)}: undefined variable "${t.text}"`);
        }
        const chain = this.chain();
        return { t: "var", name: t.text, chain, pos: t.pos, src: [t.text, ...chain].join(".") };
      }
      case "string":
      case "char":
        return { t: "const", value: t.kind === "char" ? t.text.codePointAt(0) : t.text };
      case "number": {
        const n = Number(t.text.replaceAll("_", ""));
        if (Number.isNaN(n)) throw new TemplateError(`bad number syntax: "${t.text}"`);
        return { t: "const", value: n };
      }
      case "ident":
        if (t.text === "true" || t.text === "false") {
          return { t: "const", value: t.text === "true" };
        }
        if (t.text === "nil") return { t: "const", value: null };
        if (!(t.text in this.funcs)) {
          throw new TemplateError(`${this.line(t.pos)}: function "${t.text}" not defined`);
        }
        return { t: "ident", name: t.text, pos: t.pos };
      case "lparen": {
        const pipe = this.parsePipe("parenthesized pipeline");
        if (this.toks[this.i].kind !== "rparen") throw new TemplateError(`unclosed left paren`);
        this.i++;
        const chain = this.chain();
        return { t: "pipe", pipe, chain, pos: t.pos, src: "(...)" };
      }
      default:
        throw new TemplateError(`${this.line(t.pos)}: unexpected "${t.text}" in operand`);
    }
  }
}

// ---- execution ----

class Break {}
class Continue {}

/** Go's reflect-ish kind of a JS value, for messages. */
function goTypeOf(v: unknown): string {
  if (isStruct(v)) return v.goType;
  if (v === null || v === undefined || v === NO_VALUE) return "interface {}";
  if (Array.isArray(v)) return "[]interface {}";
  if (typeof v === "object") return "map[string]interface {}";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  return typeof v;
}

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === NO_VALUE || v === false || v === 0 || v === "") {
    return false;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object" && !isStruct(v) && !(v instanceof Date)) {
    return Object.keys(v as object).length > 0;
  }
  return true;
}

/**
 * Go's fmt %v for the value shapes JSON and the format contexts produce.
 * With `structs`, objects whose keys are all exported Go field names print as
 * the structs they were decoded from (`{v1 v2 ...}` in field order), as the
 * CLI's typed API objects do; other objects print as maps.
 */
export function goString(v: unknown, structs = false): string {
  if (v === NO_VALUE) return "<no value>";
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return "[" + v.map((x) => goString(x, structs)).join(" ") + "]";
  if (v instanceof Date) return v.toISOString();
  if (isStruct(v)) return typeof v.toString === "function" ? String(v) : "{}";
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (structs && keys.length && keys.every((k) => /^[A-Z]/.test(k))) {
      return "{" + keys.map((k) => goString(o[k], structs)).join(" ") + "}";
    }
    return "map[" + keys.sort().map((k) => `${k}:${goString(o[k], structs)}`).join(" ") + "]";
  }
  return String(v);
}

/** Go's %v for float64: integers plainly, else the shortest repr with Go's exponent form. */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  // JS "1e+21" / "1.5e-7" → Go "1e+21" / "1.5e-07".
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

function callable(v: unknown): v is Func {
  return typeof v === "function";
}

interface Scope {
  vars: Map<string, unknown>[];
}

class Exec {
  private out: string[] = [];

  constructor(
    private src: string,
    private funcs: Record<string, Func>,
    private name: string,
    private offset: number,
    private opts: ExecOptions = {},
  ) {}

  private where(pos: number, what: string): string {
    const before = this.src.slice(0, pos);
    const line = before.split("\n").length;
    const col = pos - (before.lastIndexOf("\n") + 1) + (line === 1 ? this.offset : 0);
    return `template: ${this.name}:${line}:${col}: executing "${this.name}" at <${what}>`;
  }

  private fail(pos: number, what: string, msg: string): never {
    throw new TemplateError(`${this.where(pos, what)}: ${msg}`);
  }

  run(nodes: Node[], dot: unknown): string {
    const scope: Scope = { vars: [new Map([["$", dot]])] };
    try {
      this.walk(nodes, dot, scope);
    } catch (e) {
      if (e instanceof TemplateError) e.partial = this.out.join("");
      throw e;
    }
    return this.out.join("");
  }

  private lookup(scope: Scope, name: string): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) {
      if (scope.vars[i].has(name)) return scope.vars[i].get(name);
    }
    throw new TemplateError(`undefined variable: ${name}`);
  }

  private setVar(scope: Scope, name: string, value: unknown) {
    for (let i = scope.vars.length - 1; i >= 0; i--) {
      if (scope.vars[i].has(name)) {
        scope.vars[i].set(name, value);
        return;
      }
    }
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const n of nodes) {
      switch (n.t) {
        case "text":
          this.out.push(n.text);
          break;
        case "action": {
          const v = this.pipe(n.pipe, dot, scope);
          if (!n.pipe.decl.length) this.out.push(goString(v, this.opts.structs));
          break;
        }
        case "if":
        case "with": {
          scope.vars.push(new Map());
          const v = this.pipe(n.pipe, dot, scope);
          if (truthy(v)) this.walk(n.list, n.t === "with" ? v : dot, scope);
          else if (n.else) this.walk(n.else, dot, scope);
          scope.vars.pop();
          break;
        }
        case "range":
          this.range(n, dot, scope);
          break;
        case "break":
          throw new Break();
        case "continue":
          throw new Continue();
      }
    }
  }

  private range(n: Extract<Node, { t: "range" }>, dot: unknown, scope: Scope): void {
    scope.vars.push(new Map());
    // The declared variables receive (index, element), not the pipeline's value.
    const decl = n.pipe.decl;
    const v = this.pipe({ ...n.pipe, decl: [] }, dot, scope);
    let entries: [unknown, unknown][];
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (typeof v === "number" && Number.isInteger(v)) {
      entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    } else if (v === null || v === undefined || v === NO_VALUE) entries = [];
    else if (typeof v === "object" && !isStruct(v)) {
      entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
    } else {
      this.fail(n.pos, "range", `range can't iterate over ${goString(v)}`);
    }
    if (!entries.length) {
      if (n.else) this.walk(n.else, dot, scope);
      scope.vars.pop();
      return;
    }
    for (const [k, elem] of entries) {
      const frame = new Map<string, unknown>();
      if (decl.length === 1) frame.set(decl[0], elem);
      if (decl.length === 2) {
        frame.set(decl[0], k);
        frame.set(decl[1], elem);
      }
      scope.vars.push(frame);
      try {
        this.walk(n.list, elem, scope);
      } catch (e) {
        if (e instanceof Break) {
          scope.vars.pop();
          break;
        }
        if (!(e instanceof Continue)) throw e;
      }
      scope.vars.pop();
    }
    scope.vars.pop();
  }

  private pipe(p: Pipe, dot: unknown, scope: Scope): unknown {
    let v: unknown = undefined;
    let has = false;
    for (const cmd of p.cmds) {
      v = this.command(cmd, dot, scope, has ? [v] : []);
      has = true;
    }
    if (p.decl.length) {
      const name = p.decl[p.decl.length - 1];
      if (p.assign) this.setVar(scope, name, v);
      else scope.vars[scope.vars.length - 1].set(name, v);
    }
    return v;
  }

  private command(cmd: Arg[], dot: unknown, scope: Scope, final: unknown[]): unknown {
    const [first, ...rest] = cmd;
    const args = () => rest.map((a) => this.arg(a, dot, scope));
    switch (first.t) {
      case "field":
        return this.chain(dot, first.chain, first.pos, first.src, args(), final);
      case "var": {
        const base = this.lookup(scope, first.name);
        if (!first.chain.length) {
          if (rest.length || final.length) {
            this.fail(first.pos, first.src, "can't give argument to non-function");
          }
          return base;
        }
        return this.chain(base, first.chain, first.pos, first.src, args(), final);
      }
      case "pipe": {
        const base = this.pipe(first.pipe, dot, { vars: [...scope.vars, new Map()] });
        if (!first.chain.length) return base;
        return this.chain(base, first.chain, first.pos, first.src, args(), final);
      }
      case "ident":
        return this.func(first.name, first.pos, rest, dot, scope, final);
      case "dot":
      case "const":
        if (rest.length || final.length) {
          throw new TemplateError(
            `can't give argument to non-function ${
              first.t === "dot" ? "." : goString(first.value)
            }`,
          );
        }
        return first.t === "dot" ? dot : first.value;
    }
  }

  private arg(a: Arg, dot: unknown, scope: Scope): unknown {
    switch (a.t) {
      case "dot":
        return dot;
      case "const":
        return a.value;
      case "field":
        return this.chain(dot, a.chain, a.pos, a.src, [], []);
      case "var": {
        const base = this.lookup(scope, a.name);
        return a.chain.length ? this.chain(base, a.chain, a.pos, a.src, [], []) : base;
      }
      case "pipe": {
        const base = this.pipe(a.pipe, dot, { vars: [...scope.vars, new Map()] });
        return a.chain.length ? this.chain(base, a.chain, a.pos, a.src, [], []) : base;
      }
      case "ident":
        return this.func(a.name, a.pos, [], dot, scope, []);
    }
  }

  private chain(
    recv: unknown,
    chain: string[],
    pos: number,
    src: string,
    args: unknown[],
    final: unknown[],
  ): unknown {
    let v = recv;
    const at = FIELD_POSITIONS.get(chain);
    for (let i = 0; i < chain.length; i++) {
      const last = i === chain.length - 1;
      v = this.field(
        v,
        chain[i],
        last ? [...args, ...final] : [],
        at?.[i] ?? pos,
        src,
        last && args.length > 0,
      );
    }
    return v;
  }

  private field(
    recv: unknown,
    name: string,
    args: unknown[],
    pos: number,
    src: string,
    explicitArgs: boolean,
  ): unknown {
    if (recv === null || recv === undefined || recv === NO_VALUE) {
      this.fail(pos, src, `nil pointer evaluating ${goTypeOf(recv)}.${name}`);
    }
    if (typeof recv !== "object") {
      this.fail(pos, src, `can't evaluate field ${name} in type ${goTypeOf(recv)}`);
    }
    const obj = recv as Record<string, unknown>;
    if (isStruct(obj)) {
      if (!(name in obj) || !/^[A-Z]/.test(name)) {
        this.fail(pos, src, `can't evaluate field ${name} in type ${obj.goType}`);
      }
      const m = obj[name];
      if (callable(m)) {
        try {
          return m.apply(obj, args);
        } catch (e) {
          this.fail(pos, src, `error calling ${name}: ${(e as Error).message}`);
        }
      }
      if (explicitArgs || args.length) {
        this.fail(pos, src, `${name} has arguments but cannot be invoked as function`);
      }
      return m;
    }
    if (Array.isArray(obj)) {
      this.fail(pos, src, `can't evaluate field ${name} in type ${goTypeOf(obj)}`);
    }
    const fn = Object.hasOwn(obj, name) ? obj[name] : undefined;
    if (callable(fn)) return fn.apply(obj, args);
    if (explicitArgs || args.length) {
      this.fail(pos, src, `${name} is not a method but has arguments`);
    }
    if (Object.hasOwn(obj, name)) return obj[name];
    if (this.opts.missingKeyError) this.fail(pos, src, `map has no entry for key "${name}"`);
    return NO_VALUE;
  }

  private func(
    name: string,
    pos: number,
    argNodes: Arg[],
    dot: unknown,
    scope: Scope,
    final: unknown[],
  ): unknown {
    // and / or evaluate their arguments lazily, as Go 1.18+ does.
    if (name === "and" || name === "or") {
      const thunks = [
        ...argNodes.map((a) => () => this.arg(a, dot, scope)),
        ...final.map((f) => () => f),
      ];
      if (!thunks.length) {
        this.fail(pos, name, `wrong number of args for ${name}: want at least 1 got 0`);
      }
      let v: unknown;
      for (const t of thunks) {
        v = t();
        if (name === "and" ? !truthy(v) : truthy(v)) return v;
      }
      return v;
    }
    const args = [...argNodes.map((a) => this.arg(a, dot, scope)), ...final];
    try {
      return this.funcs[name](...args);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.fail(pos, name, `error calling ${name}: ${(e as Error).message}`);
    }
  }
}

// ---- functions ----

function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") throw new Error("incompatible types for comparison");
  const n = Number(v);
  if (Number.isNaN(n)) throw new Error("incompatible types for comparison");
  return n;
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "number" || typeof b === "number") return num(a) - num(b);
  throw new Error("invalid type for comparison");
}

function basicEq(a: unknown, b: unknown): boolean {
  if (a === NO_VALUE) a = null;
  if (b === NO_VALUE) b = null;
  if (typeof a === "object" && a !== null || typeof b === "object" && b !== null) {
    if (a === null || b === null) return a === b;
    throw new Error("non-comparable type");
  }
  if (typeof a !== typeof b && a !== null && b !== null) {
    throw new Error("incompatible types for comparison");
  }
  return a === b;
}

function goLen(v: unknown): number {
  if (typeof v === "string") return new TextEncoder().encode(v).length;
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === "object") return Object.keys(v).length;
  throw new Error(`len of type ${goTypeOf(v)}`);
}

function index(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur)) {
      const i = num(k);
      if (i < 0 || i >= cur.length) throw new Error(`index out of range: ${i}`);
      cur = cur[i];
    } else if (typeof cur === "string") {
      cur = new TextEncoder().encode(cur)[num(k)];
    } else if (cur && typeof cur === "object") {
      const o = cur as Record<string, unknown>;
      // A missing key gives the element's zero value; the CLI's maps hold strings.
      cur = Object.hasOwn(o, String(k)) ? o[String(k)] : "";
    } else if (cur === null || cur === undefined || cur === NO_VALUE) {
      throw new Error("index of untyped nil");
    } else {
      throw new Error(`can't index item of type ${goTypeOf(cur)}`);
    }
  }
  return cur;
}

/** Go's fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let s = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") s += " ";
    s += goString(a);
  });
  return s;
}

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %q %f %t %x %X %%, widths, flags. */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = "";
  let ai = 0;
  const re = /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format))) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, w, p, verb] = m;
    if (verb === "%") {
      out += "%";
      continue;
    }
    const width = w === "*" ? num(args[ai++]) : w ? Number(w) : undefined;
    const prec = p === "*" ? num(args[ai++]) : p !== undefined ? Number(p) : undefined;
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case "d":
        s = typeof a === "number" ? String(Math.trunc(a)) : `%!d(${goTypeOf(a)}=${goString(a)})`;
        if (flags.includes("+") && typeof a === "number" && a >= 0) s = "+" + s;
        break;
      case "f":
      case "F":
        s = typeof a === "number" ? a.toFixed(prec ?? 6) : `%!f(${goTypeOf(a)}=${goString(a)})`;
        break;
      case "q":
        s = JSON.stringify(goString(a));
        break;
      case "x":
      case "X":
        s = typeof a === "number"
          ? a.toString(16)
          : [...new TextEncoder().encode(goString(a))].map((b) => b.toString(16).padStart(2, "0"))
            .join("");
        if (verb === "X") s = s.toUpperCase();
        break;
      case "t":
        s = typeof a === "boolean" ? String(a) : `%!t(${goTypeOf(a)}=${goString(a)})`;
        break;
      default:
        s = goString(a);
        if (prec !== undefined && (verb === "s" || verb === "v")) {
          s = [...s].slice(0, prec).join("");
        }
    }
    if (width !== undefined && [...s].length < width) {
      const pad = width - [...s].length;
      if (flags.includes("-")) s = s + " ".repeat(pad);
      else if (flags.includes("0") && /[dfF]/.test(verb)) {
        const neg = s.startsWith("-") ? "-" : "";
        s = neg + "0".repeat(pad) + s.slice(neg.length);
      } else s = " ".repeat(pad) + s;
    }
    out += s;
  }
  out += format.slice(last);
  if (ai < args.length) {
    out += "%!(EXTRA " + args.slice(ai).map((a) => `${goTypeOf(a)}=${goString(a)}`).join(", ") +
      ")";
  }
  return out;
}

/** JSON as the CLI's `json` function writes it (no HTML escaping, no newline). */
export function toJson(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return "null";
  // An object that knows its Go marshalling (exact int64s, omitempty) gives it whole.
  const goJson = (v as { goJson?: () => string } | null)?.goJson;
  if (typeof goJson === "function") return goJson.call(v);
  const s = JSON.stringify(v, (_k, x) => x === NO_VALUE ? null : x) ?? "null";
  // A format context marshals itself with json.Marshal, which escapes HTML characters.
  return isStruct(v) && v.goType.startsWith("*formatter.") ? htmlEscapeJson(s) : s;
}

/**
 * JSON as Go marshals a decoded API object: objects whose keys are all
 * exported field names are structs (their order kept), others are maps
 * (keys sorted).
 */
export function toJsonGo(v: unknown): string {
  const norm = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(norm);
    if (x && typeof x === "object" && !isStruct(x)) {
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      const struct = keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
      return Object.fromEntries((struct ? keys : keys.sort()).map((k) => [k, norm(o[k])]));
    }
    return x;
  };
  return toJson(norm(v));
}

function htmlEscapeJson(s: string): string {
  return s.replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

function str(v: unknown): string {
  return typeof v === "string" ? v : goString(v);
}

const GO_FUNCS: Record<string, Func> = {
  and: () => undefined, // evaluated lazily by Exec
  or: () => undefined,
  not: (v: unknown) => !truthy(v),
  len: goLen,
  index,
  slice: (v: unknown, i?: number, j?: number) => {
    if (typeof v === "string" || Array.isArray(v)) return v.slice(i ?? 0, j ?? v.length);
    throw new Error(`can't slice item of type ${goTypeOf(v)}`);
  },
  print: (...a: unknown[]) => sprint(a),
  println: (...a: unknown[]) => a.map((x) => goString(x)).join(" ") + "\n",
  printf: (f: string, ...a: unknown[]) => sprintf(f, ...a),
  eq: (a: unknown, ...bs: unknown[]) => {
    if (!bs.length) throw new Error("missing argument for comparison");
    return bs.some((b) => basicEq(a, b));
  },
  ne: (a: unknown, b: unknown) => !basicEq(a, b),
  lt: (a: unknown, b: unknown) => cmp(a, b) < 0,
  le: (a: unknown, b: unknown) => cmp(a, b) <= 0,
  gt: (a: unknown, b: unknown) => cmp(a, b) > 0,
  ge: (a: unknown, b: unknown) => cmp(a, b) >= 0,
  html: (...a: unknown[]) =>
    sprint(a).replace(
      /[&<>"']/g,
      (c) => `&${({ "&": "amp", "<": "lt", ">": "gt", '"': "#34", "'": "#39" })[c]};`,
    ),
  js: (...a: unknown[]) => JSON.stringify(sprint(a)).slice(1, -1),
  urlquery: (...a: unknown[]) => encodeURIComponent(sprint(a)),
};

/** The Docker CLI's template functions (templates.basicFunctions). */
export const DOCKER_FUNCS: Record<string, Func> = {
  json: toJson,
  split: (s: unknown, sep: string) => str(s).split(sep),
  join: (a: unknown, sep: string) => {
    if (!Array.isArray(a)) {
      throw new Error(`wrong type for value; expected []string; got ${goTypeOf(a)}`);
    }
    return a.map(str).join(sep);
  },
  title: (s: unknown) =>
    str(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p, c) => p + c.toUpperCase()),
  lower: (s: unknown) => str(s).toLowerCase(),
  upper: (s: unknown) => str(s).toUpperCase(),
  pad: (s: unknown, prefix: number, suffix: number) => {
    const v = str(s);
    return v === "" ? v : " ".repeat(prefix) + v + " ".repeat(suffix);
  },
  truncate: (s: unknown, n: number) => {
    const b = new TextEncoder().encode(str(s));
    return b.length < n ? str(s) : new TextDecoder().decode(b.subarray(0, n));
  },
};

/** The header pass of a `table` format: Docker's functions leave header names as they are. */
export const HEADER_FUNCS: Record<string, Func> = {
  json: (v: unknown) => str(v),
  split: (v: unknown) => [str(v)],
  join: (v: unknown) => Array.isArray(v) ? v.map(str).join("") : str(v),
  title: (v: unknown) => str(v),
  lower: (v: unknown) => str(v),
  upper: (v: unknown) => str(v),
  pad: (v: unknown) => str(v),
  truncate: (v: unknown) => str(v),
};

/** A parsed template. */
export class Template {
  private nodes: Node[];
  private funcs: Record<string, Func>;

  private name: string;
  private offset: number;

  /**
   * `name` appears in messages as Go's template name; `offset` is how many
   * characters of the user's format precede `source` on its first line
   * ("table "), so that error columns match the CLI's.
   */
  constructor(
    readonly source: string,
    opts: { funcs?: Record<string, Func>; name?: string; offset?: number } = {},
  ) {
    this.funcs = { ...GO_FUNCS, ...(opts.funcs ?? DOCKER_FUNCS) };
    this.name = opts.name ?? "";
    this.offset = opts.offset ?? 0;
    try {
      this.nodes = new Parser(source, this.funcs).parse();
    } catch (e) {
      if (e instanceof TemplateError) {
        throw new TemplateError(`template: ${this.name}:${e.message}`);
      }
      throw e;
    }
  }

  /** Renders with `data` as dot; `funcs` replace functions of the same name (header pass). */
  execute(data: unknown, funcs?: Record<string, Func>, opts: ExecOptions = {}): string {
    let all = funcs ? { ...this.funcs, ...funcs } : this.funcs;
    if (opts.structs) all = { ...all, json: toJsonGo };
    const exec = new Exec(this.source, all, this.name, this.offset, opts);
    return exec.run(this.nodes, data);
  }
}

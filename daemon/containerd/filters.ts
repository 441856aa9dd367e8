/**
 * containerd's filter syntax (containerd/filters), used by event
 * subscriptions and List calls:
 *
 *   filter    := selector ("," selector)*       all must match (AND)
 *   selector  := fieldpath [("==" | "!=" | "~=") value]   a bare fieldpath: present
 *   fieldpath := field ("." field)*
 *   field     := quoted | [A-Za-z0-9_]+   (what containerd's scanner accepts)
 *   value     := quoted | [^\s,]+
 *   quoted    := "..." (Go escapes) | /.../ | |...|
 *
 * Several filters match if any does (OR); no filter matches everything.
 */
import { invalidArgument } from "./context.ts";

/** The value at a field path, and whether it is present. */
export type Adaptor = (fieldpath: string[]) => [string, boolean];
export type Filter = (a: Adaptor) => boolean;

interface Selector {
  path: string[];
  op?: "==" | "!=" | "~=";
  value: string;
  re?: RegExp;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(msg: string): never {
    const at = Math.min(this.i, this.s.length);
    throw invalidArgument(
      `filters: parse error: [${this.s.slice(0, at)} >|${this.s.slice(at)}|<]: ${msg}: ` +
        "invalid argument",
    );
  }

  private ws() {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private peek(): string {
    this.ws();
    return this.s[this.i] ?? "";
  }

  private quoted(): string {
    const q = this.s[this.i++];
    let out = "";
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === q) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const n = this.s[this.i++] ?? this.fail("unterminated quoted string");
      if (q !== '"') {
        // In /regexp/ and |regexp| only the delimiter is escaped.
        out += n === q ? q : `\\${n}`;
        continue;
      }
      const simple: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        a: "\x07",
        b: "\b",
        f: "\f",
        v: "\v",
        "\\": "\\",
        '"': '"',
        "'": "'",
      };
      if (n in simple) out += simple[n];
      else if (n === "x" || n === "u" || n === "U") {
        const len = n === "x" ? 2 : n === "u" ? 4 : 8;
        const hex = this.s.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail("invalid escape");
        out += String.fromCodePoint(parseInt(hex, 16));
        this.i += len;
      } else this.fail("invalid escape");
    }
    this.fail("unterminated quoted string");
  }

  private isQuote(c: string) {
    return c === '"' || c === "/" || c === "|";
  }

  private field(): string {
    const c = this.peek();
    if (this.isQuote(c)) return this.quoted();
    const m = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected field or quoted");
    this.i += m[0].length;
    return m[0];
  }

  private value(): string {
    const c = this.peek();
    if (this.isQuote(c)) return this.quoted();
    const m = /^[^\s,]+/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected value or quoted");
    this.i += m[0].length;
    return m[0];
  }

  private selector(): Selector {
    const path = [this.field()];
    while (this.peek() === ".") {
      this.i++;
      path.push(this.field());
    }
    this.ws();
    const op = this.s.slice(this.i, this.i + 2);
    if (op !== "==" && op !== "!=" && op !== "~=") return { path, value: "" };
    this.i += 2;
    const value = this.value();
    const sel: Selector = { path, op, value };
    if (op === "~=") {
      try {
        sel.re = new RegExp(value);
      } catch (e) {
        this.fail(`invalid regular expression: ${(e as Error).message}`);
      }
    }
    return sel;
  }

  parse(): Selector[] {
    const sels = [this.selector()];
    for (;;) {
      const c = this.peek();
      if (c === "") return sels;
      if (c !== ",") this.fail("expected a comma or the end");
      this.i++;
      sels.push(this.selector());
    }
  }
}

function matches(sel: Selector, a: Adaptor): boolean {
  const [v, present] = a(sel.path);
  switch (sel.op) {
    case undefined:
      return present;
    case "==":
      return present && v === sel.value;
    case "!=":
      return v !== sel.value;
    case "~=":
      return sel.re!.test(v);
  }
}

/** One filter string: its selectors ANDed. Throws INVALID_ARGUMENT for bad syntax. */
export function parseFilter(s: string): Filter {
  const sels = new Parser(s).parse();
  return (a) => sels.every((sel) => matches(sel, a));
}

/** Several filter strings, ORed; none: everything matches. */
export function parseFilters(ss: string[] | undefined): Filter {
  const fs = (ss ?? []).map(parseFilter);
  if (fs.length === 0) return () => true;
  return (a) => fs.some((f) => f(a));
}

/**
 * The adaptor for a decoded protobuf message (snake_case fields) as
 * containerd's generated Field methods see it: strings (present when not
 * empty), booleans, nested messages, and string maps (labels...) keyed by
 * the rest of the path.
 */
export function objectAdaptor(obj: unknown): Adaptor {
  return (path) => {
    let cur: unknown = obj;
    for (let i = 0; i < path.length; i++) {
      if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return ["", false];
      const o = cur as Record<string, unknown>;
      const next = o[path[i]];
      if (MAP_FIELDS.has(path[i]) && next !== null && typeof next === "object") {
        // A map<string, string>: the key may itself contain dots.
        const key = path.slice(i + 1).join(".");
        if (!key) return ["", false];
        const v = (next as Record<string, unknown>)[key];
        return typeof v === "string" ? [v, true] : ["", false];
      }
      cur = next;
    }
    if (typeof cur === "string") return [cur, cur.length > 0];
    if (typeof cur === "boolean") return [String(cur), true];
    return ["", false];
  };
}

/** The map<string, string> fields of containerd's messages. */
const MAP_FIELDS = new Set(["labels", "annotations", "exports"]);

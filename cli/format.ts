/**
 * `--format` as the Docker CLI reads it: "table" (the command's default
 * columns), "table TEMPLATE" (a header row, columns aligned by tabwriter),
 * "json" (one JSON object per line) or a bare Go template (one line per
 * item). `\t` and `\n` typed literally in the format become tab and newline.
 */
import { DOCKER_FUNCS, type Func, HEADER_FUNCS, Template, TemplateError } from "./template.ts";
import { tabwrite } from "./table.ts";
import { StatusError } from "./errors.ts";

export interface Format {
  table: boolean;
  json: boolean;
  template: Template;
}

/**
 * Resolves `format` for a listing command (ps, images, stats, ...) whose
 * default is `defaultTable` (a "table ..." format). Errors carry the
 * listing commands' wording and exit 1.
 */
export function parseFormat(format: string, defaultTable: string): Format {
  let f = format;
  if (f === "" || f === "table") f = defaultTable;
  if (f === "json") return { table: false, json: true, template: listingTemplate("{{json .}}", 0) };
  let table = false;
  let offset = 0;
  if (f.startsWith("table")) {
    table = true;
    f = f.slice(5);
    offset = 5;
  }
  const lead = /^ */.exec(f)![0].length;
  f = f.slice(lead).replace(/ +$/, "").replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  return { table, json: false, template: listingTemplate(f, offset + lead) };
}

/** The formatter's own errors (formatter.Context): both read "template parsing error". */
function listingTemplate(source: string, offset: number): Template {
  try {
    return new Template(source, { offset });
  } catch (e) {
    if (e instanceof TemplateError) {
      throw new StatusError(`template parsing error: ${e.message}`, 1);
    }
    throw e;
  }
}

function runListing(t: Template, data: unknown, prefix = "template parsing error"): string {
  try {
    return t.execute(data);
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`${prefix}: ${e.message}`, 1);
    throw e;
  }
}

/**
 * Renders `rows` (format contexts) with `fmt`: for a table, a header from
 * `header` (field name → column title) and tabwriter alignment.
 */
export function renderRows(fmt: Format, rows: unknown[], header: Record<string, unknown>): string {
  let body = "";
  for (const r of rows) body += runListing(fmt.template, r) + "\n";
  if (!fmt.table) return body;
  let head: string;
  try {
    head = fmt.template.execute(header, HEADER_FUNCS);
  } catch {
    head = "";
  }
  return tabwrite(head + "\n" + body);
}

/**
 * A one-object template (version, info, inspect): parse errors read
 * "template parsing error: ...", execution errors are Go's message alone.
 */
export function objectTemplate(
  format: string,
  name = "",
  funcs: Record<string, Func> = {},
): Template {
  const f = format === "json" ? "{{json .}}" : format;
  try {
    return new Template(f, { name, funcs: { ...DOCKER_FUNCS, ...funcs } });
  } catch (e) {
    if (e instanceof TemplateError) {
      throw new StatusError(`template parsing error: ${e.message}`, 1);
    }
    throw e;
  }
}

/** An execution error that keeps what the template wrote before failing. */
export class PartialOutput extends StatusError {
  constructor(message: string, readonly partial: string) {
    super(message, 1);
  }
}

export function runObject(t: Template, data: unknown): string {
  try {
    return t.execute(data);
  } catch (e) {
    if (e instanceof TemplateError) throw new PartialOutput(e.message, e.partial);
    throw e;
  }
}

/**
 * The check `docker ps` makes of a --format before any request: the raw
 * format ("table" prefix included) parsed and run once against `probe`.
 */
export function checkTemplate(format: string, probe: unknown): void {
  let t: Template;
  try {
    t = new Template(format);
  } catch (e) {
    if (e instanceof TemplateError) {
      throw new StatusError(`failed to parse template: ${e.message}`, 1);
    }
    throw e;
  }
  runListing(t, probe, "failed to execute template");
}

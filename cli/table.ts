/**
 * Go's text/tabwriter, which lays out every table the Docker CLI prints:
 * cells end with a tab, the last cell of a line is not part of a column, and
 * a column's width is fixed per block of consecutive lines that have a cell
 * in it (max cell width + padding, at least minwidth). Padding is spaces,
 * cells are left-aligned; widths count runes.
 */

export interface TabOptions {
  minwidth: number;
  padding: number;
}

/** The CLI's table writer: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const TABLE: TabOptions = { minwidth: 10, padding: 3 };
/** The writer of `docker version`: tabwriter.NewWriter(out, 20, 1, 1, ' ', 0). */
export const VERSION_TABLE: TabOptions = { minwidth: 20, padding: 1 };

function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Aligns tab-separated `text` (all of it, as Flush does). */
export function tabwrite(text: string, opts: TabOptions = TABLE): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i];
      let s = "";
      cells.forEach((c, j) => {
        s += c;
        if (j < widths.length) s += " ".repeat(widths[j] - width(c));
      });
      out.push(s);
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = opts.minwidth;
      for (; t < line1; t++) {
        const cells = lines[t];
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]) + opts.padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      // Line t has no cell in this column: the loop's t++ passes over it, as Go's does.
      line0 = t;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join("\n");
}

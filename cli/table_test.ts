import assert from "node:assert/strict";
import { tabwrite, VERSION_TABLE } from "./table.ts";

Deno.test("columns are at least 10 wide with 3 spaces of padding; the last cell is free", () => {
  const out = tabwrite(
    'CONTAINER ID\tIMAGE\tCOMMAND\tNAMES\n0123456789ab\tbusybox\t"sh"\tfoo\n',
  );
  assert.equal(
    out,
    "CONTAINER ID   IMAGE     COMMAND   NAMES\n" +
      '0123456789ab   busybox   "sh"      foo\n',
  );
});

Deno.test("column widths are per block of lines that have that column", () => {
  // The second line has no tab: it ends the block, so the third line's column is measured anew.
  const out = tabwrite("a-very-long-cell\tx\nplain line\nb\ty\n");
  assert.equal(out, "a-very-long-cell   x\nplain line\nb         y\n");
});

Deno.test("empty cells are padded; widths count runes", () => {
  assert.equal(tabwrite("é\tb\tc\n\t\tz\n"), "é         b         c\n                    z\n");
});

Deno.test("docker version's writer: minwidth 20, padding 1", () => {
  assert.equal(
    tabwrite(" Version:\t1\n API version:\t2\n", VERSION_TABLE),
    " Version:           1\n API version:       2\n",
  );
});

import assert from "node:assert/strict";
import { type FlagDef, FlagError, flagUsages, parseFlags, parseGoDuration } from "./flags.ts";

const defs: FlagDef[] = [
  { name: "all", short: "a", type: "bool", usage: "Show all" },
  { name: "quiet", short: "q", type: "bool", usage: "Only IDs" },
  { name: "last", short: "n", type: "int", usage: "Show n last", default: -1 },
  { name: "env", short: "e", type: "list", usage: "Set environment variables" },
  { name: "name", type: "string", usage: "Assign a name" },
  { name: "memory", short: "m", type: "bytes", usage: "Memory limit" },
];

Deno.test("long, short, grouped, attached and = forms", () => {
  const p = parseFlags(defs, [
    "-aq",
    "-n5",
    "--name=x",
    "-e",
    "A=1",
    "--env",
    "B=2",
    "-m",
    "1g",
    "arg",
  ]);
  assert.equal(p.values.all, true);
  assert.equal(p.values.quiet, true);
  assert.equal(p.values.last, 5);
  assert.equal(p.values.name, "x");
  assert.deepEqual(p.values.env, ["A=1", "B=2"]);
  assert.equal(p.values.memory, 1024 ** 3);
  assert.deepEqual(p.args, ["arg"]);
  assert.deepEqual([...p.changed].sort(), ["all", "env", "last", "memory", "name", "quiet"]);
  assert.equal(parseFlags(defs, ["-n=3"]).values.last, 3);
  assert.equal(parseFlags(defs, ["--all=false"]).values.all, false);
  assert.equal(parseFlags(defs, []).values.last, -1);
});

Deno.test("interspersed flags, -- and stopping at the first argument", () => {
  assert.deepEqual(parseFlags(defs, ["x", "-a", "y"]).args, ["x", "y"]);
  const run = parseFlags(defs, ["-a", "image", "ls", "-a"], { interspersed: false });
  assert.deepEqual(run.args, ["image", "ls", "-a"]);
  assert.deepEqual(parseFlags(defs, ["--", "-a"]).args, ["-a"]);
  assert.deepEqual(parseFlags(defs, ["-"]).args, ["-"]);
  assert.equal(parseFlags(defs, ["--help"]).help, true);
  assert.equal(parseFlags(defs, ["-h"]).help, true);
});

Deno.test("errors carry pflag's wording", () => {
  const msg = (argv: string[]) => {
    try {
      parseFlags(defs, argv);
    } catch (e) {
      assert.ok(e instanceof FlagError);
      return e.message;
    }
    return "";
  };
  assert.equal(msg(["--foo"]), "unknown flag: --foo");
  assert.equal(msg(["-z"]), "unknown shorthand flag: 'z' in -z");
  assert.equal(msg(["-az"]), "unknown shorthand flag: 'z' in -az");
  assert.equal(msg(["-n"]), "flag needs an argument: 'n' in -n");
  assert.equal(msg(["--name"]), "flag needs an argument: --name");
  assert.equal(
    msg(["-n", "x"]),
    'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax',
  );
  assert.equal(
    msg(["-m", "lots"]),
    `invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'`,
  );
});

Deno.test("help lays flags out as pflag does, wrapping long usage", () => {
  const text = flagUsages([
    {
      name: "all",
      short: "a",
      type: "bool",
      usage: "Show all containers (default shows just running)",
    },
    {
      name: "last",
      short: "n",
      type: "int",
      usage: "Show n last created containers (includes all states)",
      default: -1,
    },
    {
      name: "filter",
      short: "f",
      type: "list",
      varname: "filter",
      usage: "Filter output based on conditions provided",
    },
  ], 79);
  assert.equal(
    text,
    "  -a, --all             Show all containers (default shows just running)\n" +
      "  -f, --filter filter   Filter output based on conditions provided\n" +
      "  -n, --last int        Show n last created containers (includes all\n" +
      "                        states) (default -1)\n",
  );
});

Deno.test("Go durations", () => {
  assert.equal(parseGoDuration("1h30m"), 90 * 60_000);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("300ms"), 300);
  assert.throws(() => parseGoDuration("10"), /missing unit/);
});

/**
 * `deno task bench [options] [suite...]`: berth side by side with the
 * programs it stands in for, on this machine, in one run.
 *
 * Each suite is a module bench/<suite>.ts (default export: a Suite from
 * lib.ts), loaded only when asked for. To add one (containerd, dockerd), add
 * its module and a line to SUITES.
 */
import { parseFlags, UsageError } from "../runtime/args.ts";
import {
  abort,
  Aborted,
  type BenchOptions,
  runCleanups,
  type Suite,
  type SuiteResult,
  table,
  toJson,
} from "./lib.ts";

const SUITES: Record<string, () => Promise<{ default: Suite }>> = {
  runtime: () => import("./runtime.ts"),
  containerd: () => import("./containerd.ts"),
  dockerd: () => import("./dockerd.ts"),
};

const FLAGS = {
  runs: { type: "string", short: "n" },
  warmup: { type: "string" },
  json: { type: "boolean" },
  set: { type: "strings" },
  help: { type: "boolean", short: "h" },
} as const;

function usage(): string {
  return `usage: deno task bench [options] [suite...]    (default: every suite)

suites: ${Object.keys(SUITES).join(", ")}

options:
  --runs N, -n N      measured iterations per metric (default 30)
  --warmup N          iterations run first and not counted (default 3)
  --json              print every sample and summary as JSON on stdout (no table)
  --set KEY=VALUE     a suite setting (repeatable); runtime suite:
                        ours="CMD ARGS"       berth's runc command line (default: dist/berth runc
                                              if it works, else deno run -A main.ts runc)
                        deno-flags="FLAGS"    extra \`deno run\` flags for berth (e.g. --no-config)
                        peer=PATH             the runc to compare with (default /usr/sbin/runc)
                      containerd suite:
                        idle=N                idle containers for the PSS figures (default 50)
                        group=N               containers per shim in the grouped run (default 10)
                      dockerd suite:
                        runs=N                docker run iterations (default --runs)
                        containers=N          created containers for the list rate (default 100)
                        concurrency=N, seconds=N, windows=N   list rate clients (8), window (3 s),
                                              windows per daemon (3)
                        pull-mb=N, layers=N, pull-runs=N      pulled image size (200 MB), layers (8),
                                              pulls per daemon (3)
                        ours="CMD ARGS", deno-flags="FLAGS"   as for the runtime suite`;
}

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: not a number: ${value}`);
  return Number(value);
}

async function main(args: string[]): Promise<number> {
  let flags, positionals;
  try {
    ({ flags, positionals } = parseFlags(args, FLAGS));
    if (flags.help) {
      console.log(usage());
      return 0;
    }
    for (const name of positionals) {
      if (!SUITES[name]) throw new UsageError(`unknown suite "${name}"`);
    }
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  const log = (line: string) => console.error(line);
  const settings: Record<string, string> = {};
  for (const kv of flags.set ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      console.error(`bench: --set wants KEY=VALUE, got "${kv}"`);
      return 2;
    }
    settings[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  let opts: BenchOptions;
  try {
    opts = {
      runs: Math.max(1, count(flags.runs, 30, "runs")),
      warmup: count(flags.warmup, 3, "warmup"),
      settings,
      log,
    };
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  }

  // Ctrl-C (or a kill): stop starting commands, remove what was made, exit.
  let interrupted: Promise<void> | undefined;
  const onSignal = (signal: Deno.Signal) => {
    if (interrupted) return;
    abort();
    log(`bench: ${signal}: cleaning up`);
    interrupted = runCleanups(log).finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((s) => {
    const h = () => onSignal(s);
    Deno.addSignalListener(s, h);
    return [s, h] as const;
  });

  const results: SuiteResult[] = [];
  let code = 0;
  try {
    for (const name of positionals.length ? positionals : Object.keys(SUITES)) {
      const suite = (await SUITES[name]()).default;
      log(`== ${suite.name}: ${suite.description}`);
      try {
        results.push(await suite.run(opts));
      } finally {
        await runCleanups(log);
      }
    }
  } catch (e) {
    if (interrupted || e instanceof Aborted) {
      await interrupted;
      return 130;
    }
    log(`bench: ${(e as Error).stack ?? e}`);
    code = 1;
  } finally {
    if (!interrupted) { for (const [s, h] of handlers) Deno.removeSignalListener(s, h); }
  }
  if (flags.json) {
    console.log(JSON.stringify(results.map(toJson), null, 2));
  } else {
    for (const r of results) {
      console.log(`\n${r.suite}: ours = ${r.ours}; peer = ${r.peer}`);
      for (const n of r.notes) console.log(`  ${n}`);
      console.log(`\n${table(r)}\n`);
    }
  }
  return code;
}

Deno.exit(await main(Deno.args));

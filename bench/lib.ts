/**
 * What every bench suite shares: the suite interface, timing of commands,
 * statistics, the side-by-side table, and clean-up that also runs on Ctrl-C.
 *
 * A suite is a module bench/<name>.ts whose default export is a {@link Suite};
 * bench/main.ts lists them and loads only the ones asked for.
 */

export interface BenchOptions {
  /** Measured iterations per metric. */
  runs: number;
  /** Iterations run first and thrown away. */
  warmup: number;
  /** Suite-specific options (`--set key=value` on the command line). */
  settings: Record<string, string>;
  /** Progress and notes (stderr). */
  log: (line: string) => void;
}

/** One measured quantity, sampled for berth and for the peer it is compared with. */
export interface Metric {
  name: string;
  unit: "ms" | "MB" | "req/s";
  ours: number[];
  peer: number[];
}

export interface SuiteResult {
  suite: string;
  /** What berth's side ran as, and what the peer is. */
  ours: string;
  peer: string;
  /** Free-form facts about the run (the machine, what was measured and how). */
  notes: string[];
  metrics: Metric[];
}

export interface Suite {
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<SuiteResult>;
}

// ---------------------------------------------------------------- clean-up

type Cleanup = () => void | Promise<void>;
const cleanups: Cleanup[] = [];
let aborting = false;

/** Registers `fn` to run at the end (last registered, first run), also after Ctrl-C. */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

/** Runs every registered clean-up once, each even if another one failed. */
export async function runCleanups(log: (line: string) => void): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (e) {
      log(`clean-up: ${(e as Error).message}`);
    }
  }
}

/** Set once the bench was interrupted: suites must stop starting new commands. */
export function aborted(): boolean {
  return aborting;
}

export class Aborted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** Marks the run as interrupted (by a signal). */
export function abort(): void {
  aborting = true;
}

// ---------------------------------------------------------------- commands

const td = new TextDecoder();

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /**
   * Whether the command's stderr is inherited rather than read. A command
   * that leaves a process behind holding its stdio (`runc create`) must not
   * get pipes: `output()` would wait for that process too.
   */
  inheritStderr?: boolean;
  /** Whether stdout is read (else /dev/null). */
  stdout?: boolean;
  env?: Record<string, string>;
}

/** Runs argv to completion, timed with performance.now() around `output()`. */
export async function timed(argv: string[], opts: CommandOptions = {}): Promise<Timed> {
  if (aborting) throw new Aborted();
  const cmd = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: opts.stdout ? "piped" : "null",
    stderr: opts.inheritStderr ? "inherit" : "piped",
    env: opts.env,
  });
  const t0 = performance.now();
  const out = await cmd.output();
  const ms = performance.now() - t0;
  return {
    ms,
    code: out.code,
    stdout: opts.stdout ? td.decode(out.stdout) : "",
    stderr: opts.inheritStderr ? "" : td.decode(out.stderr),
  };
}

/** Like {@link timed}, but throws unless the command exits with 0. */
export async function timedOk(argv: string[], opts: CommandOptions = {}): Promise<Timed> {
  const r = await timed(argv, opts);
  if (r.code !== 0) {
    const why = opts.inheritStderr ? "(its stderr is above)" : r.stderr.trim();
    throw new Error(`${argv.join(" ")} exited with ${r.code} ${why}`);
  }
  return r;
}

// ---------------------------------------------------------------- statistics

/** The q-quantile (0..1) by nearest rank; NaN for no samples. */
export function quantile(samples: number[], q: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** The median (mean of the two middle samples for an even count). */
export function median(samples: number[]): number {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p90: quantile(samples, 0.9),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
  };
}

function fmt(v: number, unit: Metric["unit"]): string {
  if (Number.isNaN(v)) return "-";
  return unit === "MB" ? v.toFixed(1) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** The side-by-side table of a suite's metrics (medians, p90, ratio of medians). */
export function table(result: SuiteResult): string {
  const header = [
    "metric",
    "unit",
    "ours med",
    "ours p90",
    `${result.peer} med`,
    `${result.peer} p90`,
    "ours/peer",
  ];
  const rows = result.metrics.map((m) => {
    const o = summarize(m.ours);
    const p = summarize(m.peer);
    return [
      m.name,
      m.unit,
      fmt(o.median, m.unit),
      fmt(o.p90, m.unit),
      fmt(p.median, m.unit),
      fmt(p.p90, m.unit),
      Number.isFinite(o.median / p.median) ? `${(o.median / p.median).toFixed(2)}×` : "-",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The JSON form of a suite's result: every sample and its summary. */
export function toJson(result: SuiteResult) {
  return {
    ...result,
    metrics: result.metrics.map((m) => ({
      ...m,
      oursSummary: summarize(m.ours),
      peerSummary: summarize(m.peer),
      ratio: median(m.ours) / median(m.peer),
    })),
  };
}

/** Signal names and numbers (Linux, x86_64 and aarch64 share them). */
export const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
};

/** "TERM", "SIGTERM", "15", "RTMIN+3" → a signal number; an error naming the input otherwise. */
export function parseSignal(input: string): number {
  const s = input.trim().toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else if (s in SIGNALS) {
    return SIGNALS[s];
  } else {
    const rt = /^RTMIN(?:\+(\d+))?$/.exec(s) ?? /^RTMAX(?:-(\d+))?$/.exec(s);
    if (rt) {
      const n = s.startsWith("RTMIN") ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
      if (n >= 34 && n <= 64) return n;
    }
  }
  throw new Error(`unknown signal "${input}"`);
}

/** The name Deno's APIs use for a signal number, where it has one. */
export function denoSignalName(n: number): Deno.Signal | undefined {
  const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
  return name ? (`SIG${name}` as Deno.Signal) : undefined;
}

/** containerd-style log lines on stderr: `time="..." level=info msg="..."`. */
import type { Config } from "./context.ts";

export type Level = Config["logLevel"];
const ORDER: Level[] = ["trace", "debug", "info", "warn", "error"];

export interface Logger {
  level: Level;
  trace(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: Level): Logger {
  const min = ORDER.indexOf(level);
  const enc = new TextEncoder();
  const line = (l: Level) => (msg: string) => {
    if (ORDER.indexOf(l) < min) return;
    const text = `time="${new Date().toISOString()}" level=${l === "warn" ? "warning" : l} msg=${
      JSON.stringify(msg)
    }\n`;
    try {
      Deno.stderr.writeSync(enc.encode(text));
    } catch { /* stderr gone: nothing to do */ }
  };
  return {
    level,
    trace: line("trace"),
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
  };
}

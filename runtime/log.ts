/**
 * runc's logging contract: errors go to stderr, and also to the --log file
 * (text or `--log-format json`), where callers like containerd read them.
 */
export class Logger {
  constructor(
    readonly path: string | undefined,
    readonly format: "text" | "json",
    readonly debugEnabled: boolean,
  ) {
    // runc opens its log at start; callers read it even when nothing failed.
    if (path) {
      try {
        Deno.writeTextFileSync(path, "", { append: true, create: true });
      } catch { /* reported with the first message, if any */ }
    }
  }

  #append(level: string, msg: string): void {
    if (!this.path) return;
    const time = new Date().toISOString();
    const line = this.format === "json"
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      Deno.writeTextFileSync(this.path, line + "\n", { append: true, create: true });
    } catch { /* a log that cannot be written must not hide the error itself */ }
  }

  error(msg: string): void {
    this.#append("error", msg);
    console.error(`berth-runc: ${msg}`);
  }

  warn(msg: string): void {
    this.#append("warning", msg);
    console.error(`berth-runc: warning: ${msg}`);
  }

  debug(msg: string): void {
    if (!this.debugEnabled) return;
    this.#append("debug", msg);
    console.error(`berth-runc: debug: ${msg}`);
  }
}

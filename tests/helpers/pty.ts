/**
 * A shell command line on a real pty made by util-linux `script`, with a
 * window of `size` (stty syntax); `interact` gets the output so far and a way
 * to type. Returns script's exit code (the command's, with -e) and all output.
 * Killed after `timeoutMs` so a hung terminal cannot hang the test run.
 */
const enc = new TextEncoder();

export type Interaction = (
  out: () => string,
  type: (s: string) => Promise<void>,
) => Promise<void>;

export async function underScript(
  command: string,
  interact: Interaction,
  opts: { size?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; text: string }> {
  const child = new Deno.Command("script", {
    args: ["-qec", `stty ${opts.size ?? "rows 30 cols 100"}; exec ${command}`, "/dev/null"],
    env: opts.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const errText = new Response(child.stderr).text();
  const stdin = child.stdin.getWriter();
  const killer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs ?? 30_000);
  try {
    await interact(() => text, async (s) => await stdin.write(enc.encode(s)));
    const status = await child.status;
    await reading;
    return { code: status.code, text: text + (await errText) };
  } finally {
    clearTimeout(killer);
    await stdin.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
}

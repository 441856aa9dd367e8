/**
 * --sig-proxy: signals this client receives are sent on to the container
 * (POST /containers/{id}/kill?signal=NAME), as the Docker CLI's
 * ForwardAllSignals does while attached without a TTY.
 */
import type { Cli } from "./cli.ts";

const FORWARDED: Deno.Signal[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGALRM",
];

/** Starts forwarding; returns the function that stops it. */
export function forwardSignals(cli: Cli, id: string): () => void {
  const handlers: [Deno.Signal, () => void][] = FORWARDED.map((sig) => [sig, () => {
    cli.debug(`forwarding signal ${sig}`);
    cli.client.call("POST", `/containers/${id}/kill`, { query: { signal: sig.slice(3) } })
      .catch((e) => cli.debug(`error sending signal: ${(e as Error).message}`));
  }]);
  for (const [sig, h] of handlers) {
    try {
      Deno.addSignalListener(sig, h);
    } catch { /* not supported here */ }
  }
  return () => {
    for (const [sig, h] of handlers) {
      try {
        Deno.removeSignalListener(sig, h);
      } catch { /* not registered */ }
    }
  };
}

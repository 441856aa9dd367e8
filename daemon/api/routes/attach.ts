/**
 * `POST /containers/{id}/attach`: what a request asks for (checked as dockerd
 * does), and the answer for clients that do not ask to hijack the connection
 * (dockerode's `hijack: false`, curl): `200 OK` and the output as the body,
 * without stdin. Hijacked attaches are in ../hijack_routes.ts.
 */
import type { App } from "../app.ts";
import type { Engine } from "../../engine.ts";
import type { ContainerRecord } from "../../containers/store.ts";
import { badRequest, conflict } from "../errors.ts";
import { boolValue } from "../query.ts";
import { logStream } from "../../containers/logs.ts";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../../attach/detach_keys.ts";
import { attachSocketOf, stopped } from "../hijack_routes.ts";
import { connectAttach } from "../../attach/hijack.ts";

export interface AttachPlan {
  rec: ContainerRecord;
  header: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** `stream=1`: live output (and stdin) after the replay. */
  stream: boolean;
  detachKeys: Uint8Array;
  /** `logs=1`: the log so far, replayed first (raw with a TTY, else multiplexed). */
  replay?: ReadableStream<Uint8Array>;
}

/**
 * dockerd's ContainerAttach checks: detach keys, the container, not paused,
 * not restarting. The stream of a stopped container waits for its next start
 * (`docker start -a`).
 */
export function planAttach(engine: Engine, ref: string, q: URLSearchParams): AttachPlan {
  const flag = (k: string) => boolValue(q.get(k) ?? undefined);
  const keys = q.get("detachKeys") || DEFAULT_DETACH_KEYS;
  let detachKeys: Uint8Array;
  try {
    detachKeys = parseDetachKeys(keys);
  } catch {
    throw badRequest(`Invalid detach keys (${keys}) provided`);
  }
  const rec = engine.containers.get(ref);
  if (rec.State.Paused) {
    throw conflict(`container ${ref} is paused, unpause the container before attach`);
  }
  if (rec.State.Restarting) {
    throw conflict(`container ${ref} is restarting, wait until the container is running`);
  }
  const stream = flag("stream");
  const header = {
    stdin: flag("stdin") && !!rec.Config.OpenStdin,
    stdout: flag("stdout"),
    stderr: flag("stderr"),
  };
  const driver = rec.HostConfig.LogConfig?.Type;
  const replay = flag("logs") && (!driver || driver === "json-file")
    ? logStream(
      { path: rec.LogPath, tty: !!rec.Config.Tty, running: () => false },
      { ...header, follow: false, timestamps: false, details: false, tail: -1 },
    )
    : undefined;
  return { rec, header, stream, detachKeys, replay };
}

export function attachRoutes(app: App): void {
  app.post("/containers/:id/attach", (c) => {
    const engine = c.get("engine");
    const plan = planAttach(engine, c.req.param("id"), new URL(c.req.url).searchParams);
    const { rec, replay } = plan;
    const signal = c.req.raw.signal;
    // Attached before the start: the shim's socket exists once the task does.
    const early = plan.stream && !rec.State.Running
      ? engine.lifecycle.attachBeforeStart(rec.Id)
      : undefined;
    let shim: Deno.UnixConn | undefined;
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        try {
          if (replay) { for await (const chunk of replay) ctl.enqueue(chunk); }
          if (plan.stream) await early?.ready;
          if (plan.stream && !signal.aborted) {
            const header = { ...plan.header, stdin: false };
            shim = await connectAttach(attachSocketOf(engine, rec.Id), header);
            signal.addEventListener("abort", () => shim?.close(), { once: true });
            early?.connected();
            for await (const chunk of shim.readable) ctl.enqueue(chunk);
            // As the hijacked stream: the container is stopped once the output ends.
            if (!signal.aborted) await withTimeout(stopped(engine, rec.Id), 5000);
          }
        } catch (e) {
          if (!signal.aborted) {
            try {
              ctl.enqueue(new TextEncoder().encode(`${(e as Error).message}\n`));
            } catch { /* cancelled */ }
          }
        } finally {
          early?.connected();
          try {
            ctl.close();
          } catch { /* cancelled */ }
        }
      },
      cancel() {
        early?.connected();
        try {
          shim?.close();
        } catch { /* closed */ }
      },
    });
    // dockerd answers 200 with this type whatever the framing (raw with a TTY, else stdcopy).
    return c.body(body, 200, { "Content-Type": "application/vnd.docker.raw-stream" });
  });
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}

/**
 * `GET /containers/{id}/logs`: checks in dockerd's order (streams, then the
 * container, then the time bounds), then streams the json-file log (see
 * containers/logs.ts).
 */
import type { App } from "../app.ts";
import { ApiError, badRequest, conflict } from "../errors.ts";
import { compareVersions } from "../version.ts";
import { logStream, parseUnixTimestamp } from "../../containers/logs.ts";

/** Go's httputils.BoolValue: anything but "", "0", "no", "false", "none" is true. */
export function boolValue(v: string | undefined): boolean {
  const s = (v ?? "").trim().toLowerCase();
  return !(s === "" || s === "0" || s === "no" || s === "false" || s === "none");
}

/** strconv.Atoi of `tail`; anything unparsable ("all" included) means every line. */
function tailLines(v: string | undefined): number {
  return v !== undefined && /^[+-]?\d+$/.test(v) ? Math.max(-1, Number(v)) : -1;
}

export function logsRoutes(app: App): void {
  app.get("/containers/:id/logs", (c) => {
    const engine = c.get("engine");
    const q = (k: string) => c.req.query(k);
    const stdout = boolValue(q("stdout")), stderr = boolValue(q("stderr"));
    if (!stdout && !stderr) throw badRequest("Bad parameters: you must choose at least one stream");
    const rec = engine.containers.get(c.req.param("id"));
    if (rec.State.Dead || rec.State.Status === "removing") {
      throw conflict("can not get logs from container which is dead or marked for removal");
    }
    const driver = rec.HostConfig.LogConfig?.Type;
    if (driver && driver !== "json-file") {
      throw new ApiError(501, "configured logging driver does not support reading");
    }
    const since = q("since"), until = q("until");
    const body = logStream(
      {
        path: rec.LogPath,
        tty: rec.Config.Tty === true,
        running: () => engine.containers.find(rec.Id)?.State.Running === true,
      },
      {
        stdout,
        stderr,
        follow: boolValue(q("follow")),
        since: since ? parseUnixTimestamp(since) : undefined,
        until: until && until !== "0" ? parseUnixTimestamp(until) : undefined,
        timestamps: boolValue(q("timestamps")),
        details: boolValue(q("details")),
        tail: tailLines(q("tail")),
      },
      c.req.raw.signal,
    );
    const muxed = !rec.Config.Tty && compareVersions(c.get("apiVersion"), "1.42") >= 0;
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": muxed
          ? "application/vnd.docker.multiplexed-stream"
          : "application/vnd.docker.raw-stream",
      },
    });
  });
}

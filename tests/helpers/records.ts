/**
 * Container records written into a data root before dockerd starts (as a
 * restarted dockerd finds them): an exited container by default, anything
 * else given as overrides.
 */
import type { ContainerRecord } from "../../daemon/containers/store.ts";
import { initialState } from "../../daemon/containers/create.ts";

export function exitedRecord(
  id: string,
  name: string,
  o: { exitCode?: number; agoMs?: number } & Partial<ContainerRecord> = {},
): ContainerRecord {
  const { exitCode = 0, agoMs = 60_000, ...rest } = o;
  const at = new Date(Date.now() - agoMs).toISOString();
  return {
    Id: id,
    Name: `/${name}`,
    Created: at,
    Path: "sh",
    Args: [],
    Config: { Image: "busybox", Cmd: ["sh"] },
    HostConfig: { NetworkMode: "none" },
    Image: "",
    State: {
      ...initialState(),
      Status: "exited",
      ExitCode: exitCode,
      StartedAt: at,
      FinishedAt: at,
    },
    RestartCount: 0,
    HasBeenManuallyStopped: false,
    LogPath: "",
    Networks: {},
    ExecIDs: [],
    ...rest,
  };
}

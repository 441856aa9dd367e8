/**
 * How the CLI ends: a {@link StatusError} carries the exit status and the
 * text to print on stderr (nothing when empty), as the Docker CLI's
 * cli.StatusError does; any other error prints its message and exits 1.
 */
export class StatusError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** An error answer from the daemon: "Error response from daemon: ..." */
export class DaemonError extends Error {
  constructor(readonly statusCode: number, readonly daemonMessage: string) {
    super(`Error response from daemon: ${daemonMessage}`);
  }

  get notFound(): boolean {
    return this.statusCode === 404;
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

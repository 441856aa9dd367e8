import type { ErrorCode } from "./api.ts";

/** An error with the code the client maps to gRPC (see api.ts ErrorCode). */
export class ShimFailure extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** Maps the runtime's words to an error code containerd's clients understand. */
export function classify(msg: string): ErrorCode {
  if (/does not exist|not found|no such/i.test(msg)) return "not_found";
  if (/exists/i.test(msg)) return "already_exists";
  if (/not running|stopped|paused|cannot|is running/i.test(msg)) return "failed_precondition";
  if (/invalid|config\.json|unknown signal/i.test(msg)) return "invalid_argument";
  return "unknown";
}

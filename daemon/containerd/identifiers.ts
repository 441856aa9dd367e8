/**
 * containerd's identifiers (pkg/identifiers): container ids and namespace
 * names are dot/dash/underscore-separated alphanumeric runs of at most 76
 * characters. berth relies on this too: such names are safe file names.
 */
import { invalidArgument } from "./context.ts";

const MAX_LENGTH = 76;
const PATTERN = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";
const RE = new RegExp(PATTERN);

/** Throws INVALID_ARGUMENT worded as containerd's identifiers.Validate. */
export function validateIdentifier(s: string): void {
  if (s.length === 0) throw invalidArgument("identifier must not be empty: invalid argument");
  if (s.length > MAX_LENGTH) {
    throw invalidArgument(
      `identifier ${JSON.stringify(s)} greater than maximum length (${MAX_LENGTH} characters): ` +
        "invalid argument",
    );
  }
  if (!RE.test(s)) {
    throw invalidArgument(
      `identifier ${JSON.stringify(s)} must match ${PATTERN}: invalid argument`,
    );
  }
}

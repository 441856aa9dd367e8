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

const MAX_LABEL_SIZE = 4096;

/** containerd's labels.Validate: a key and its value take at most 4096 bytes. */
export function validateLabels(labels: Record<string, string>, where: string): void {
  const enc = new TextEncoder();
  for (const [k, v] of Object.entries(labels)) {
    if (enc.encode(k).length + enc.encode(v).length > MAX_LABEL_SIZE) {
      throw invalidArgument(
        `${where}: label key and value greater than maximum size (${MAX_LABEL_SIZE} bytes), ` +
          `key: ${k.slice(0, 10)}: invalid argument`,
      );
    }
  }
}

/** Labels as containerd stores them: an empty value means no such label. */
export function cleanLabels(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([, v]) => v !== ""));
}

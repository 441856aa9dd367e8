/**
 * Errors of the image subsystem, each with a kind that the API maps to a
 * status code in one place (moby's errdefs): not found → 404, conflict →
 * 409, invalid → 400, unauthorized → 401, forbidden → 403, unavailable →
 * 503, system → 500. Messages are Docker's wording where Docker has one.
 */
export type ImageErrorKind =
  | "not-found"
  | "conflict"
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "unavailable"
  | "system";

export class ImageError extends Error {
  override name = "ImageError";
  constructor(readonly kind: ImageErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The HTTP status Docker answers with for an error of this kind. */
export function statusOf(kind: ImageErrorKind): number {
  return {
    "not-found": 404,
    conflict: 409,
    invalid: 400,
    unauthorized: 401,
    forbidden: 403,
    unavailable: 503,
    system: 500,
  }[kind];
}

export const notFound = (msg: string) => new ImageError("not-found", msg);
export const conflict = (msg: string) => new ImageError("conflict", msg);
export const invalid = (msg: string) => new ImageError("invalid", msg);

/** Docker's "No such image: <ref>". */
export const noSuchImage = (ref: string) => notFound(`No such image: ${ref}`);

/** A blob whose bytes do not hash to the digest they were asked for under. */
export class DigestMismatchError extends ImageError {
  constructor(readonly expected: string, readonly actual: string, what = "blob") {
    super("invalid", `${what} verification failed for digest ${expected}: got ${actual}`);
  }
}

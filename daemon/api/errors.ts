/**
 * Engine API errors: an HTTP status and Docker's `{"message": "..."}` body.
 * Route code throws {@link ApiError}; the app turns it (and anything else)
 * into that shape, so no handler writes error bodies by hand.
 */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const badRequest = (msg: string) => new ApiError(400, msg);
export const notFound = (msg: string) => new ApiError(404, msg);
export const conflict = (msg: string) => new ApiError(409, msg);
export const notModified = () => new ApiError(304, "");

/** Docker's wording for a missing container or image. */
export const noSuchContainer = (id: string) => notFound(`No such container: ${id}`);
export const noSuchImage = (ref: string) => notFound(`No such image: ${ref}`);

export function errorResponse(status: number, message: string): Response {
  if (status === 304) return new Response(null, { status });
  return new Response(JSON.stringify({ message }) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

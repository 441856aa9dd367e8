/**
 * The image side of dockerd, for the Engine API routes: one
 * {@link ImageService} per daemon (root `<data-root>/image`; call `init()`
 * once at start), and one function per operation. Errors are
 * {@link ImageError}s whose kind maps to a status code with {@link statusOf};
 * streaming operations report through a {@link ProgressSink} whose messages
 * {@link jsonLine} turns into Docker's JSON stream.
 */
export { type ContainerUse, ImageService, type ImageServiceOptions } from "./service.ts";
export { pull, type PullOptions, type PullResult } from "./pull.ts";
export { imageHistory, inspectImage, listImages, type ListOptions } from "./inspect.ts";
export { pruneImages, type PruneOptions, removeImage, type RemoveOptions } from "./remove.ts";
export { saveImages } from "./save.ts";
export { loadImages, type LoadResult } from "./load.ts";
export { decodeRegistryAuth, encodeRegistryAuth } from "./registry/credentials.ts";
export { type AuthenticateOKBody, login } from "./registry/login.ts";
export { type Mount } from "./snapshots.ts";
export { ImageError, type ImageErrorKind, noSuchImage, statusOf } from "./errors.ts";
export { errorMessage, jsonLine, type ProgressSink } from "./progress.ts";
export type * from "./api_types.ts";
export type * from "./oci_types.ts";

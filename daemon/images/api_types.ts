/**
 * Engine API wire types of the image endpoints (Docker's names and casing)
 * and the JSON-lines progress stream that pull, push, load and import answer
 * with.
 */
import type { ContainerConfig, Descriptor } from "./oci_types.ts";

/** GET /images/{name}/json */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  /** Dropped in API 1.45; kept empty for older clients. */
  Container?: string;
  ContainerConfig?: ContainerConfig;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  /** Dropped in API 1.44; equal to Size. */
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime?: string };
  /** The manifest the image was made from (API 1.48+). */
  Descriptor?: Descriptor;
}

/** One element of GET /images/json */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string>;
  Containers: number;
  Descriptor?: Descriptor;
}

/** One element of GET /images/{name}/history (newest first). */
export interface ImageHistoryItem {
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** One element of DELETE /images/{name}. */
export type ImageDeleteResponseItem = { Untagged: string } | { Deleted: string };

/** POST /images/prune */
export interface ImagesPruneReport {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

/** The decoded X-Registry-Auth header (base64url JSON). */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * One line of Docker's JSON progress stream (jsonmessage.JSONMessage):
 * `{"status":"Pulling fs layer","progressDetail":{},"id":"abc123"}`.
 */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number; units?: string } | Record<string, never>;
  /** The rendered bar: `[=====>     ]  1.2MB/2.3MB`. */
  progress?: string;
  /** Output of load/build: a line of text. */
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: unknown;
}

/**
 * Wire formats of images: the OCI image spec (index, manifest, config,
 * layout) and Docker's distribution formats (schema 2 manifest and manifest
 * list), which share the OCI shapes under other media types.
 */

export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  DockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  DockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
} as const;

export const INDEX_MEDIA_TYPES: readonly string[] = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.DockerManifest,
];

/** Layer media types berth can unpack. */
export const LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  MediaType.OciLayerNondistributableGzip,
  MediaType.DockerLayer,
  MediaType.DockerLayerGzip,
  MediaType.DockerForeignLayerGzip,
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

/** OCI annotation keys used by image layouts. */
export const Annotation = {
  RefName: "org.opencontainers.image.ref.name",
  ContainerdImageName: "io.containerd.image.name",
  Created: "org.opencontainers.image.created",
} as const;

export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  features?: string[];
}

/** A content descriptor: what a blob is, where it is and how big. */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<hex>`. */
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/** OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

/** Either of the two (what a registry answers for a tag). */
export type AnyManifest = ImageIndex | ImageManifest;

/** The container configuration part of an image config (Docker's casing). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** OCI image config / Docker image JSON (`application/vnd.docker.container.image.v1+json`). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  /** Docker-only fields kept when present. */
  comment?: string;
  docker_version?: string;
  container?: string;
  container_config?: ContainerConfig;
  parent?: string;
}

/** `oci-layout` of an image layout directory or tar. */
export interface OciLayoutFile {
  imageLayoutVersion: "1.0.0";
}

/** One entry of a `docker save` archive's manifest.json. */
export interface DockerArchiveManifestEntry {
  /** Path inside the archive of the config JSON. */
  Config: string;
  RepoTags: string[] | null;
  /** Paths inside the archive of the layer tars, bottom first. */
  Layers: string[];
  Parent?: string;
  LayerSources?: Record<string, Descriptor>;
}

/** A `docker save` archive's legacy `repositories` file: repo → tag → top layer id. */
export type DockerArchiveRepositories = Record<string, Record<string, string>>;

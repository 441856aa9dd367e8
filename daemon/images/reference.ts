/**
 * Docker image references (distribution/reference's grammar): parsing,
 * normalization (`busybox` → `docker.io/library/busybox:latest`) and the
 * short "familiar" form the CLI shows. Errors carry Docker's wording
 * ("invalid reference format", ...).
 */

/** The registry that short names refer to. */
export const DEFAULT_DOMAIN = "docker.io";
/** What `docker.io` means on the wire (`registry-1.docker.io`). */
export const DEFAULT_REGISTRY_HOST = "registry-1.docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const NAME_TOTAL_LENGTH_MAX = 255;

const alnum = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const domain = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;

const REFERENCE_RE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const ANCHORED_DOMAIN_RE = new RegExp(`^${domain}$`);
const ANCHORED_TAG_RE = new RegExp(`^${tag}$`);
const ANCHORED_DIGEST_RE = new RegExp(`^${digest}$`);
const ANCHORED_PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const ID_RE = /^[a-f0-9]{64}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** A reference that failed to parse; the message is Docker's. */
export class ReferenceError extends Error {
  override name = "ReferenceError";
}

/** A fully qualified reference: `domain/path[:tag][@digest]`. */
export interface Reference {
  /** Registry host (with port): `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  path: string;
  tag?: string;
  /** `sha256:<hex>`. */
  digest?: string;
}

/** `domain/path`: the repository name. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full form: `docker.io/library/busybox:latest`. */
export function referenceString(ref: Reference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : "") +
    (ref.digest !== undefined ? `@${ref.digest}` : "");
}

/** The short name the CLI shows: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) &&
      !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes("/")
    ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
    : ref.path;
}

/** The short form with tag and digest: `busybox:latest`. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : "") +
    (ref.digest !== undefined ? `@${ref.digest}` : "");
}

/** True if `s` is a full 64-hex image id (with or without `sha256:`). */
export function isFullImageId(s: string): boolean {
  return ID_RE.test(s) || SHA256_RE.test(s);
}

/** Checks a digest string and returns it; only sha256 is supported. */
export function parseDigest(s: string): string {
  if (!ANCHORED_DIGEST_RE.test(s)) throw new ReferenceError("invalid digest format");
  if (!s.startsWith("sha256:")) {
    throw new ReferenceError(`unsupported digest algorithm: ${s.split(":")[0]}`);
  }
  if (!SHA256_RE.test(s)) throw new ReferenceError("invalid checksum digest length");
  return s;
}

function splitDockerDomain(s: string): { domain: string; path: string } {
  const i = s.indexOf("/");
  let domain: string, path: string;
  const first = s.slice(0, i);
  if (
    i === -1 ||
    (!first.includes(".") && !first.includes(":") && first !== "localhost" &&
      first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    path = s;
  } else {
    domain = first;
    path = s.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/**
 * Parses a reference as the Docker CLI and daemon do
 * (reference.ParseNormalizedNamed): short names get `docker.io` and
 * `library/`. No tag is added; see {@link withDefaultTag}.
 */
export function parseNormalized(s: string): Reference {
  if (ID_RE.test(s)) {
    throw new ReferenceError(
      `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const { domain, path: remainder } = splitDockerDomain(s);
  const remoteName = remainder.split(/[:@]/)[0];
  if (remoteName.toLowerCase() !== remoteName) {
    throw new ReferenceError(
      `invalid reference format: repository name (${remoteName}) must be lowercase`,
    );
  }
  return parseQualified(`${domain}/${remainder}`);
}

/** Parses an already qualified reference (`domain/path[:tag][@digest]`). */
export function parseQualified(s: string): Reference {
  if (s === "") throw new ReferenceError("repository name must have at least one component");
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s.toLowerCase() !== s && REFERENCE_RE.test(s.toLowerCase())) {
      throw new ReferenceError("invalid reference format: repository name must be lowercase");
    }
    throw new ReferenceError("invalid reference format");
  }
  const [, fullName, tagPart, digestPart] = m;
  if (fullName.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(
      `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`,
    );
  }
  const slash = fullName.indexOf("/");
  const first = slash === -1 ? "" : fullName.slice(0, slash);
  if (slash === -1 || !ANCHORED_DOMAIN_RE.test(first)) {
    throw new ReferenceError("invalid reference format");
  }
  const ref: Reference = { domain: first, path: fullName.slice(slash + 1) };
  if (!ANCHORED_PATH_RE.test(ref.path)) throw new ReferenceError("invalid reference format");
  if (tagPart !== undefined) ref.tag = tagPart;
  if (digestPart !== undefined) ref.digest = parseDigest(digestPart);
  return ref;
}

/** Adds `:latest` to a reference that has neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: "latest" } : ref;
}

/** Parses `s` and adds `:latest` when it has neither tag nor digest. */
export function parseNormalizedTagged(s: string): Reference {
  return withDefaultTag(parseNormalized(s));
}

/** Checks a tag on its own (`docker tag x repo:TAG`). */
export function validateTag(t: string): string {
  if (!ANCHORED_TAG_RE.test(t)) throw new ReferenceError("invalid tag format");
  return t;
}

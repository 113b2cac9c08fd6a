// Pure predicates behind the official registry's semantic rules; the zod schema and the field pass call them.

/** Characters counted as JSON Schema counts them (Unicode code points), not UTF-16 units. */
export function codePointLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length--;
        i++;
      }
    }
  }
  return length;
}

export const SERVER_NAME_PATTERN = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;
const NAMESPACE_EDGES = /^[a-zA-Z0-9](?:.*[a-zA-Z0-9])?$/s;

/** Why a name that already matches SERVER_NAME_PATTERN still breaks the official rule, or undefined. */
export function serverNameEdgeProblem(name: string): string | undefined {
  const slash = name.indexOf("/");
  const namespace = name.slice(0, slash);
  const server = name.slice(slash + 1);
  if (namespace.length < 2 || !NAMESPACE_EDGES.test(namespace)) {
    return `namespace "${namespace}" must be at least 2 characters and start and end with a letter or digit`;
  }
  if (server.length < 2 || !NAMESPACE_EDGES.test(server)) {
    return `server name "${server}" must be at least 2 characters and start and end with a letter or digit`;
  }
  return undefined;
}

export function isReservedVersion(version: string): boolean {
  return version.trim().toLowerCase() === "latest";
}

const RANGE_OPERATOR_START = /^\s*(?:\^|~|>|<|=)/;
const HYPHEN_RANGE = /\s-/;
const WILDCARD_SEGMENT = /^v?(?:x|X|\*)$/;

/** True when the version names a range or wildcard rather than one specific version. */
export function looksLikeVersionRange(version: string): boolean {
  if (RANGE_OPERATOR_START.test(version) || version.includes("||") || HYPHEN_RANGE.test(version)) {
    return true;
  }
  if (version.includes("*")) return true;
  // Only the release part can hold x/X wildcards; "1.0.0-x" is a pre-release tag.
  const release = version.trim().split(/[-+]/, 1)[0] ?? "";
  return release.split(".").some((segment) => WILDCARD_SEGMENT.test(segment));
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `{names}` a URL template refers to, in order of appearance. */
export function urlPlaceholders(url: string): string[] {
  const names: string[] = [];
  for (const match of url.matchAll(PLACEHOLDER)) names.push(match[1] ?? "");
  return names;
}

/** Parse a URL template with every placeholder replaced by a harmless stand-in (a port where a port goes). */
export function parseUrlTemplate(url: string): URL | undefined {
  const concrete = url.replace(/:\{[^{}]*\}(?=[/?#]|$)/g, ":8080").replace(PLACEHOLDER, "placeholder");
  try {
    return new URL(concrete);
  } catch {
    return undefined;
  }
}

/** http(s) URL with a host, placeholders allowed. */
export function isHttpUrlTemplate(url: string): boolean {
  const parsed = parseUrlTemplate(url);
  return (
    parsed !== undefined &&
    (parsed.protocol === "http:" || parsed.protocol === "https:") &&
    parsed.hostname !== ""
  );
}

/** Why a remote URL is not acceptable (https only, never loopback), or undefined. */
/** Remote URLs are claimed in a btree index, whose entries PostgreSQL limits to 2704 bytes. */
export const MAX_REMOTE_URL_BYTES = 2048;

export function remoteUrlProblem(url: string): string | undefined {
  const parsed = parseUrlTemplate(url);
  if (parsed === undefined || parsed.hostname === "") return "is not a valid URL";
  // Checked as written and as normalised (percent-encoding can triple non-ASCII characters).
  if (Math.max(Buffer.byteLength(url.trim()), Buffer.byteLength(parsed.href)) > MAX_REMOTE_URL_BYTES) {
    return `must be at most ${MAX_REMOTE_URL_BYTES} bytes long, as written and percent-encoded`;
  }
  if (parsed.protocol !== "https:") return "must use https";
  const host = parsed.hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "127.0.0.1" || host === "[::1]") {
    return "must not point at localhost";
  }
  return undefined;
}

// RFC 3986 grammar (absolute URI), written out once so `format: uri` is never looser than the JSON Schema's.
const PCT = "%[0-9A-Fa-f]{2}";
const PCHAR = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|${PCT})`;
const USERINFO = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=:]|${PCT})*`;
const REG_NAME = `(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|${PCT})*`;
const AUTHORITY = `(?:${USERINFO}@)?(?:\\[[0-9A-Fa-f:.]+\\]|${REG_NAME})(?::[0-9]*)?`;
const HIER_PART = `(?://${AUTHORITY}(?:/${PCHAR}*)*|/?${PCHAR}+(?:/${PCHAR}*)*|/)`;
export const ABSOLUTE_URI = new RegExp(
  `^[A-Za-z][A-Za-z0-9+.-]*:${HIER_PART}(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?$`,
);

/** JSON Schema `format: uri`: an RFC 3986 absolute URI that the WHATWG URL parser also accepts. */
export function parseAbsoluteUri(value: string): URL | undefined {
  if (!ABSOLUTE_URI.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

export function isAbsoluteUri(value: string): boolean {
  return parseAbsoluteUri(value) !== undefined;
}

/** https with a host (websiteUrl, icon src). */
export function isHttps(url: URL): boolean {
  return url.protocol === "https:" && url.hostname !== "";
}

const GITHUB_REPOSITORY = /^https?:\/\/(?:www\.)?github\.com\/[\w.-]+\/[\w.-]+\/?$/;
const GITLAB_REPOSITORY = /^https?:\/\/(?:www\.)?gitlab\.com\/[\w.-]+(?:\/[\w.-]+)+\/?$/;

/** github.com and gitlab.com URLs must name a repository; other forges (private ones included) are not checked. */
export function repositoryUrlProblem(source: string, url: string): string | undefined {
  if (source === "github" && !GITHUB_REPOSITORY.test(url)) {
    return "must be https://github.com/<owner>/<repo> when source is github";
  }
  if (source === "gitlab" && !GITLAB_REPOSITORY.test(url)) {
    return "must be https://gitlab.com/<group>/<repo> when source is gitlab";
  }
  return undefined;
}

const SUBFOLDER = /^[A-Za-z0-9._/-]+$/;

/** A clean relative path: no leading/trailing slash, no empty, "." or ".." segments. */
export function isCleanSubfolder(path: string): boolean {
  if (!SUBFOLDER.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/** Why a named argument's flag is malformed (looks like it embeds a value or prose), or undefined. */
export function namedArgumentNameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (/[<>$\s]/.test(name)) return "must be the bare flag (no spaces, <, > or $)";
  return undefined;
}

import type { ServerPackage } from "../schema";
import { ArchiveError, tarGzText, zipText } from "./archives";
import { at, locate, readmeProof, type CheckContext, type CheckResult } from "./common";
import { isRecord, jsonBody, RegistryUnavailable, unexpectedStatus } from "./http";

const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";

/** PEP 503 name normalisation: case-folded, runs of -_. as one dash. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

interface DistributionFile {
  filename: string;
  url: string;
  /** PEP 658: the core metadata is served beside the file at `<url>.metadata`. */
  hasMetadata: boolean;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, "i").exec(tag);
  return match === null ? undefined : (match[2] ?? match[3]);
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"');
}

/** Files of a Simple API project page, PEP 691 JSON or PEP 503 HTML. */
export function parseSimplePage(body: string, contentType: string, pageUrl: string): DistributionFile[] {
  const absolute = (href: string) => new URL(href, pageUrl).href.replace(/#.*$/, "");
  if (contentType.includes("json")) {
    const page = JSON.parse(body) as unknown;
    const files = isRecord(page) && Array.isArray(page.files) ? page.files : [];
    return files.filter(isRecord).flatMap((file) => {
      if (typeof file.filename !== "string" || typeof file.url !== "string") return [];
      const metadata = file["core-metadata"] ?? file["dist-info-metadata"];
      return [
        {
          filename: file.filename,
          url: absolute(file.url),
          hasMetadata: metadata !== undefined && metadata !== false,
        },
      ];
    });
  }
  const files: DistributionFile[] = [];
  for (const match of body.matchAll(/<a\b([^>]*)>([^<]*)<\/a>/gi)) {
    const tag = match[1] ?? "";
    const href = attribute(tag, "href");
    if (href === undefined) continue;
    const metadata = attribute(tag, "data-core-metadata") ?? attribute(tag, "data-dist-info-metadata");
    files.push({
      filename: decodeEntities((match[2] ?? "").trim()),
      url: absolute(decodeEntities(href)),
      hasMetadata: metadata !== undefined && metadata !== "false",
    });
  }
  return files;
}

/** Whether a wheel or sdist file name is this project at this version. */
export function isReleaseFile(filename: string, project: string, version: string): boolean {
  const wanted = normalizeProjectName(project);
  const lowerVersion = version.toLowerCase();
  if (filename.endsWith(".whl")) {
    const [distribution = "", fileVersion = ""] = filename.slice(0, -4).split("-");
    return normalizeProjectName(distribution) === wanted && fileVersion.toLowerCase() === lowerVersion;
  }
  const stem = /\.(tar\.gz|zip)$/.exec(filename) ? filename.replace(/\.(tar\.gz|zip)$/, "") : undefined;
  if (stem === undefined || !stem.toLowerCase().endsWith(`-${lowerVersion}`)) return false;
  return normalizeProjectName(stem.slice(0, stem.length - lowerVersion.length - 1)) === wanted;
}

/** Files with served metadata first, then wheels (METADATA), then sdists (PKG-INFO). */
function preference(file: DistributionFile): number {
  if (file.hasMetadata) return 0;
  if (file.filename.endsWith(".whl")) return 1;
  return 2;
}

/** PyPI: `mcp-name: <server name>` in the description (README) of that release. */
export function pypiCheck(allowed: readonly string[]) {
  return async (pkg: ServerPackage, ctx: CheckContext): Promise<CheckResult> => {
    const located = locate(pkg, ctx, allowed, "PyPI", "MCP_REGISTRY_PYPI_URLS");
    if ("finding" in located) return located.finding;
    const { base, version } = located;
    const subject = `PyPI package ${pkg.identifier} ${version}`;
    const fix = `publish a new release of ${pkg.identifier} with it, set ${at(ctx, "version")} to that release`;
    const proof = (text: string) => readmeProof(text, ctx, subject, "description (README)", fix);

    // The JSON API (pypi.org, Nexus, devpi); Artifact Registry serves only the Simple API below.
    const json = await ctx.http.fetch(
      `${base}/pypi/${encodeURIComponent(pkg.identifier)}/${encodeURIComponent(version)}/json`,
      { registry: base, kind: "pypi", accept: "application/json" },
    );
    if (json.status === 200) {
      const release = jsonBody(json, base, subject);
      const info = isRecord(release) && isRecord(release.info) ? release.info : undefined;
      return proof(typeof info?.description === "string" ? info.description : "");
    }
    if (json.status !== 404) throw unexpectedStatus(base, json.status, subject);

    const pageUrl = `${base}/simple/${normalizeProjectName(pkg.identifier)}/`;
    const page = await ctx.http.fetch(pageUrl, {
      registry: base,
      kind: "pypi",
      accept: `${SIMPLE_JSON}, text/html;q=0.1`,
    });
    if (page.status === 404) {
      return `${subject} was not found in ${base}; publish it there, or correct ${at(ctx, "identifier")} and ${at(ctx, "version")}`;
    }
    if (page.status !== 200) throw unexpectedStatus(base, page.status, `PyPI package ${pkg.identifier}`);
    let files: DistributionFile[];
    try {
      files = parseSimplePage(
        page.body.toString("utf8"),
        String(page.headers["content-type"] ?? ""),
        pageUrl,
      );
    } catch {
      throw new RegistryUnavailable(
        base,
        `answered the project page of ${pkg.identifier} with something unreadable`,
        false,
      );
    }
    const host = new URL(base).host;
    const release = files
      .filter(
        (file) => isReleaseFile(file.filename, pkg.identifier, version) && new URL(file.url).host === host,
      )
      .sort((a, b) => preference(a) - preference(b))[0];
    if (release === undefined) {
      return `${subject} was not found in ${base} (the project has no files for that version on this host); publish it there, or correct ${at(ctx, "version")}`;
    }
    return proof(await releaseMetadata(release, base, subject, ctx));
  };
}

/** The core metadata (headers and description) of one release file. */
async function releaseMetadata(
  file: DistributionFile,
  base: string,
  subject: string,
  ctx: CheckContext,
): Promise<string> {
  const url = file.hasMetadata ? `${file.url}.metadata` : file.url;
  const response = await ctx.http.fetch(url, { registry: base, kind: "pypi" });
  if (response.status !== 200) throw unexpectedStatus(base, response.status, `${subject} (${file.filename})`);
  if (file.hasMetadata) return response.body.toString("utf8");
  const limit = ctx.http.settings.maxBytes;
  try {
    const text = file.filename.endsWith(".tar.gz")
      ? tarGzText(response.body, (path) => /^[^/]+\/PKG-INFO$/.test(path), limit)
      : zipText(response.body, (name) => /^[^/]+\.dist-info\/METADATA$|^[^/]+\/PKG-INFO$/.test(name), limit);
    if (text === undefined) throw new ArchiveError("no METADATA or PKG-INFO in it");
    return text;
  } catch (error) {
    const reason = error instanceof ArchiveError ? error.message : "unreadable";
    throw new RegistryUnavailable(base, `served ${file.filename}, which cannot be read (${reason})`, false);
  }
}

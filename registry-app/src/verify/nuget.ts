import type { ServerPackage } from "../schema";
import { ArchiveError, zipNames, zipText } from "./archives";
import { at, locate, readmeProof, type CheckContext, type CheckResult } from "./common";
import { isRecord, jsonBody, RegistryUnavailable, unexpectedStatus } from "./http";

/** The parts of a NuGet v3 service index that verification uses. */
interface ServiceIndex {
  /** Flat container: `<base>/<id>/index.json`, `<base>/<id>/<version>/<id>.<version>.nupkg`. */
  packageBase: string;
  /** `…/{lower_id}/{lower_version}/readme`, where the feed serves READMEs (nuget.org). */
  readmeTemplate?: string;
}

const INDEX_TTL_MS = 60 * 60 * 1000;

function resource(index: unknown, type: string): string | undefined {
  const resources = isRecord(index) && Array.isArray(index.resources) ? index.resources : [];
  for (const entry of resources) {
    if (!isRecord(entry) || typeof entry["@id"] !== "string" || typeof entry["@type"] !== "string") continue;
    if (entry["@type"] === type || entry["@type"].startsWith(`${type}/`)) return entry["@id"];
  }
  return undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** The <readme> path of a .nuspec, if it declares one. */
export function nuspecReadme(nuspec: string): string | undefined {
  const match = /<readme>\s*([^<]+?)\s*<\/readme>/i.exec(nuspec);
  return match?.[1]?.replace(/\\/g, "/").replace(/^\.?\//, "");
}

/** NuGet: `mcp-name: <server name>` in the README of that package version. */
export function nugetCheck(allowed: readonly string[], now: () => number = Date.now) {
  const indexes = new Map<string, { index: ServiceIndex; expires: number }>();

  const serviceIndex = async (base: string, ctx: CheckContext): Promise<ServiceIndex> => {
    const cached = indexes.get(base);
    if (cached !== undefined && cached.expires > now()) return cached.index;
    const response = await ctx.http.fetch(base, {
      registry: base,
      kind: "nuget",
      accept: "application/json",
    });
    if (response.status !== 200) throw unexpectedStatus(base, response.status, "the service index");
    const body = jsonBody(response, base, "the service index");
    const packageBase = resource(body, "PackageBaseAddress");
    if (packageBase === undefined)
      throw new RegistryUnavailable(base, "has no PackageBaseAddress in its service index", false);
    const index: ServiceIndex = {
      packageBase: packageBase.replace(/\/+$/, ""),
      readmeTemplate: resource(body, "ReadmeUriTemplate"),
    };
    const host = new URL(base).host;
    for (const url of [index.packageBase, index.readmeTemplate]) {
      if (url === undefined) continue;
      const target = hostOf(url);
      if (target !== host) {
        const where = target === undefined ? `an unusable URL` : `another host (${target})`;
        throw new RegistryUnavailable(
          base,
          `points to ${where} in its service index, which is not followed`,
          false,
        );
      }
    }
    indexes.set(base, { index, expires: now() + INDEX_TTL_MS });
    return index;
  };

  return async (pkg: ServerPackage, ctx: CheckContext): Promise<CheckResult> => {
    const located = locate(pkg, ctx, allowed, "NuGet", "MCP_REGISTRY_NUGET_URLS");
    if ("finding" in located) return located.finding;
    const { base, version } = located;
    const index = await serviceIndex(base, ctx);
    const id = pkg.identifier.toLowerCase();
    // Build metadata is not part of a NuGet version's identity.
    const lowerVersion = version.toLowerCase().replace(/\+.*$/, "");
    const subject = `NuGet package ${pkg.identifier} ${version}`;
    const fix = `publish a new version of ${pkg.identifier} with it, set ${at(ctx, "version")} to that version`;
    const options = { registry: base, kind: "nuget" as const };

    const versions = await ctx.http.fetch(`${index.packageBase}/${encodeURIComponent(id)}/index.json`, {
      ...options,
      accept: "application/json",
    });
    const notFound = `${subject} was not found in ${base}; publish it there, or correct ${at(ctx, "identifier")} and ${at(ctx, "version")}`;
    if (versions.status === 404) return notFound;
    if (versions.status !== 200) throw unexpectedStatus(base, versions.status, subject);
    const listed = jsonBody(versions, base, `the versions of ${pkg.identifier}`);
    const known = isRecord(listed) && Array.isArray(listed.versions) ? listed.versions : [];
    if (!known.some((entry) => typeof entry === "string" && entry.toLowerCase() === lowerVersion))
      return notFound;

    const where = "README";
    if (index.readmeTemplate !== undefined) {
      const url = index.readmeTemplate
        .replace("{lower_id}", encodeURIComponent(id))
        .replace("{lower_version}", encodeURIComponent(lowerVersion));
      const readme = await ctx.http.fetch(url, options);
      if (readme.status === 200) return readmeProof(readme.body.toString("utf8"), ctx, subject, where, fix);
      if (readme.status !== 404) throw unexpectedStatus(base, readme.status, `the README of ${subject}`);
    }
    // Feeds without the README endpoint (Nexus, Artifact Registry): the README packed in the .nupkg.
    const file = `${id}.${lowerVersion}.nupkg`;
    const nupkg = await ctx.http.fetch(
      `${index.packageBase}/${encodeURIComponent(id)}/${encodeURIComponent(lowerVersion)}/${encodeURIComponent(file)}`,
      options,
    );
    if (nupkg.status === 404) return notFound;
    if (nupkg.status !== 200) throw unexpectedStatus(base, nupkg.status, subject);
    const limit = ctx.http.settings.maxBytes;
    let readme: string | undefined;
    try {
      const nuspec = zipText(
        nupkg.body,
        (name) => !name.includes("/") && name.toLowerCase().endsWith(".nuspec"),
        limit,
      );
      const path = nuspec === undefined ? undefined : nuspecReadme(nuspec);
      const entry =
        path === undefined
          ? undefined
          : zipNames(nupkg.body).find((name) => name.toLowerCase() === path.toLowerCase());
      readme = entry === undefined ? undefined : zipText(nupkg.body, (name) => name === entry, limit);
    } catch (error) {
      const reason = error instanceof ArchiveError ? error.message : "unreadable";
      throw new RegistryUnavailable(base, `served ${file}, which cannot be read (${reason})`, false);
    }
    if (readme === undefined) {
      return `${subject} has no README; add a README with the line "mcp-name: ${ctx.serverName}" (PackageReadmeFile), ${fix}, then publish ${ctx.serverName} ${ctx.serverVersion} again`;
    }
    return readmeProof(readme, ctx, subject, where, fix);
  };
}

import type { ServerPackage } from "../schema";
import type { PackageHttp } from "./http";
import { normalizeBaseUrl } from "./urls";

/** What one package check needs: the client, and where the package sits in which server.json. */
export interface CheckContext {
  http: PackageHttp;
  index: number;
  serverName: string;
  serverVersion: string;
}

/** A finding's message (what to change), or undefined when the package proves its owner. */
export type CheckResult = string | undefined;

export type PackageCheckFn = (pkg: ServerPackage, ctx: CheckContext) => Promise<CheckResult>;

/** `packages[0]`, as the finding's messages name the package. */
export function at(ctx: CheckContext, field?: string): string {
  return `packages[${ctx.index}]${field === undefined ? "" : `.${field}`}`;
}

/** The last step of every fix: the server version was refused, so it is published again. */
export function republish(ctx: CheckContext): string {
  return `then publish ${ctx.serverName} ${ctx.serverVersion} again`;
}

/** The registry a package names (or the first allowed one), or a finding when it is not allowed. */
function chooseBase(
  pkg: ServerPackage,
  ctx: CheckContext,
  allowed: readonly string[],
  label: string,
  variable: string,
): { base: string } | { finding: string } {
  const first = allowed[0];
  if (first === undefined) {
    return { finding: `this registry accepts no ${label} packages (${variable} is empty)` };
  }
  if (pkg.registryBaseUrl === undefined) return { base: first };
  const base = normalizeBaseUrl(pkg.registryBaseUrl);
  if (base !== undefined && allowed.includes(base)) return { base };
  return {
    finding: `${at(ctx, "registryBaseUrl")} "${pkg.registryBaseUrl}" is not a ${label} registry this registry verifies against; use ${allowed.join(" or ")} (or omit registryBaseUrl for ${first})`,
  };
}

/**
 * Where a versioned package (npm, PyPI, NuGet) is looked up: its allowed registry and its version, or
 * the finding that one of them is missing or not allowed.
 */
export function locate(
  pkg: ServerPackage,
  ctx: CheckContext,
  allowed: readonly string[],
  label: string,
  variable: string,
): { base: string; version: string } | { finding: string } {
  const chosen = chooseBase(pkg, ctx, allowed, label, variable);
  if ("finding" in chosen) return chosen;
  if (pkg.version === undefined || pkg.version === "") {
    return {
      finding: `${at(ctx, "version")} is required: a ${label} package is verified through that version's metadata`,
    };
  }
  return { base: chosen.base, version: pkg.version };
}

const NAME_TAIL = /[A-Za-z0-9._/-]/;

/**
 * `mcp-name: <server name>` lines in a README or description: the names they claim. A name is whole:
 * "mcp-name: io.github.acme/weather-extra" does not prove "io.github.acme/weather".
 */
export function mcpNamesIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/mcp-name:[ \t]*([A-Za-z0-9.-]+\/[A-Za-z0-9._-]+)/g)) {
    const name = match[1] as string;
    const next = text.charAt((match.index ?? 0) + match[0].length);
    if (next === "" || !NAME_TAIL.test(next)) names.push(name.replace(/\.+$/, ""));
  }
  return names;
}

/** The finding of a README-style proof (PyPI, NuGet), or undefined when the README names the server. */
export function readmeProof(
  text: string,
  ctx: CheckContext,
  subject: string,
  where: string,
  fix: string,
): CheckResult {
  const names = mcpNamesIn(text);
  if (names.includes(ctx.serverName)) return undefined;
  const line = `mcp-name: ${ctx.serverName}`;
  if (names.length > 0) {
    return `${subject} names another server in its ${where} (mcp-name: ${names.join(", ")}); put the line "${line}" in it instead, ${fix}, ${republish(ctx)}`;
  }
  return `${subject} has no "${line}" line in its ${where}; add that line, ${fix}, ${republish(ctx)}`;
}

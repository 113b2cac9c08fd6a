import { ProblemError } from "../errors";
import type { RegistryClaims, RegistryPermission } from "./types";

/** `*` matches everything, a trailing `*` matches a prefix, anything else must match exactly. */
export function patternMatches(pattern: string, name: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

function patternsFor(claims: RegistryClaims, action: RegistryPermission["action"]): string[] {
  return claims.permissions.filter((p) => p.action === action).map((p) => p.resource);
}

function describe(patterns: string[]): string {
  return patterns.length === 0 ? "none" : patterns.join(", ");
}

/** Throws 403 (listing the caller's publish patterns) unless a publish permission matches the name. */
export function assertCanPublish(claims: RegistryClaims, serverName: string): void {
  const patterns = patternsFor(claims, "publish");
  if (patterns.some((pattern) => patternMatches(pattern, serverName))) return;
  throw new ProblemError(
    403,
    "Forbidden",
    `You do not have permission to publish "${serverName}". Your token allows publishing: ${describe(patterns)}.`,
  );
}

/** Edit and status changes need edit permission, or publish permission on the name. */
export function assertCanEdit(claims: RegistryClaims, serverName: string): void {
  const edit = patternsFor(claims, "edit");
  const publish = patternsFor(claims, "publish");
  if ([...edit, ...publish].some((pattern) => patternMatches(pattern, serverName))) return;
  throw new ProblemError(
    403,
    "Forbidden",
    `You do not have permission to edit "${serverName}". Your token allows editing: ${describe([
      ...new Set([...edit, ...publish]),
    ])}.`,
  );
}

/** Registry-wide curation (categories and tags of any name) needs a `*` permission: an administrator. */
export function assertAdministrator(claims: RegistryClaims, what: string): void {
  if (claims.permissions.some((p) => p.resource === "*")) return;
  throw new ProblemError(
    403,
    "Forbidden",
    `Only registry administrators (a token with a "*" permission) may ${what}. Your token allows: ${describe([
      ...new Set(claims.permissions.map((p) => `${p.action} ${p.resource}`)),
    ])}.`,
  );
}

/** Strips a trailing "/*", ".*" or "*" from a blocked-namespace entry: "com.evil/*" -> "com.evil". */
export function blockedNamespaceBase(entry: string): string {
  return entry.replace(/(\/\*|\.\*|\*)$/, "");
}

/**
 * True when a permission pattern reaches into a blocked namespace: it names something inside it
 * (com.evil/x, com.evil.sub/*) or covers it (com.*, com.evil*).
 */
export function patternTouchesNamespace(pattern: string, namespace: string): boolean {
  if (pattern === "*") return true;
  const inside = (value: string) =>
    value === namespace || value.startsWith(`${namespace}/`) || value.startsWith(`${namespace}.`);
  if (!pattern.endsWith("*")) return inside(pattern);
  const prefix = pattern.slice(0, -1);
  return inside(prefix) || `${namespace}/`.startsWith(prefix);
}

/** The permissions that hit a blocked namespace, or none when the holder has `*` (an admin). */
export function blockedPermissions(
  permissions: RegistryPermission[],
  blocked: string[],
): RegistryPermission[] {
  if (permissions.some((p) => p.resource === "*")) return [];
  const namespaces = blocked.map(blockedNamespaceBase).filter((ns) => ns.length > 0);
  return permissions.filter((p) => namespaces.some((ns) => patternTouchesNamespace(p.resource, ns)));
}

/** Throws 403 when any permission touches a blocked namespace (unless the holder has `*`). */
export function assertNotBlocked(permissions: RegistryPermission[], blocked: string[]): void {
  const hits = blockedPermissions(permissions, blocked);
  if (hits.length === 0) return;
  throw new ProblemError(
    403,
    "Forbidden",
    `The namespace of ${[...new Set(hits.map((p) => p.resource))].join(", ")} is blocked on this registry.`,
  );
}

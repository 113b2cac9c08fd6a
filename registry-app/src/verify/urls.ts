const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Loopback hosts may speak plain http (local registries, tests); everything else must be https. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/** https, or http on a loopback host. */
export function isAllowedScheme(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Base URL without a trailing slash, scheme and host lower-cased (how packages' registryBaseUrl compare). */
export function normalizeBaseUrl(raw: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (parsed.search !== "" || parsed.hash !== "" || parsed.username !== "" || parsed.password !== "")
    return undefined;
  if (!isAllowedScheme(parsed)) return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
}

/** `host` (lower case, with its port if any) against entries `host[:port]` or `*.domain`. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const candidate = host.toLowerCase();
  return allowed.some((entry) =>
    entry.startsWith("*.") ? candidate.endsWith(entry.slice(1)) : candidate === entry,
  );
}

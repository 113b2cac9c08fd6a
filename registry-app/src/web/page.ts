import type { CatalogueAssets } from "./assets";
import { SETTINGS_META_NAME, type CatalogueSettings } from "./settings";

export type { CatalogueSettings } from "./settings";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function origin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * The page's Content-Security-Policy: its own scripts and styles only (no inline code), API calls to
 * itself and, for private reads, to the OIDC issuer (discovery and token endpoint); icons of servers may
 * come from any https host, as server.json allows.
 */
export function contentSecurityPolicy(settings: CatalogueSettings): string {
  const issuer = settings.readAuth === "oidc" ? origin(settings.oidcIssuer) : undefined;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https:",
    `connect-src 'self'${issuer === undefined ? "" : ` ${issuer}`}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers of every catalogue response (pages and assets). */
export function securityHeaders(settings: CatalogueSettings): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(settings),
    "x-content-type-options": "nosniff",
    // Server names and searches of a private registry stay out of other sites' logs.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/**
 * The HTML every catalogue path answers with: an empty shell the script renders into. The settings
 * travel in a meta tag (JSON), because the policy allows no inline script.
 */
export function pageHtml(settings: CatalogueSettings, assets: CatalogueAssets): string {
  const config = escapeHtml(JSON.stringify(settings));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="description" content="Private catalogue of approved Model Context Protocol servers">
<meta name="${SETTINGS_META_NAME}" content="${config}">
<title>MCP Registry</title>
<link rel="icon" href="${assets.icon.url}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.style.url}">
<script defer src="${assets.script.url}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header id="site-header" class="site-header"></header>
<main id="main" tabindex="-1">
<noscript><p class="notice">This catalogue needs JavaScript. The API is at <a href="/v0.1/servers">/v0.1/servers</a>,
documented at <a href="/docs">/docs</a>.</p></noscript>
</main>
<footer id="site-footer" class="site-footer"></footer>
</body>
</html>
`;
}

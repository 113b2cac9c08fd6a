import { SETTINGS_META_NAME } from "../src/web/settings";
import type { CatalogueSettings } from "./types";

/** The running registry's settings, rendered by the server into a meta tag (no inline script allowed). */
export function readSettings(doc: Document): CatalogueSettings {
  const content = doc.querySelector(`meta[name="${SETTINGS_META_NAME}"]`)?.getAttribute("content");
  const parsed = content ? (JSON.parse(content) as Partial<CatalogueSettings>) : {};
  return {
    readAuth: parsed.readAuth === "oidc" ? "oidc" : "none",
    oidcIssuer: parsed.oidcIssuer ?? "",
    oidcClientId: parsed.oidcClientId ?? "",
    loginMethods: parsed.loginMethods ?? [],
    githubClientId: parsed.githubClientId ?? "",
    version: parsed.version ?? "",
    categories: Array.isArray(parsed.categories) ? parsed.categories : undefined,
  };
}

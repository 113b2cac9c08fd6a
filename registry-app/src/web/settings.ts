/**
 * What the catalogue page needs from the running configuration; never a secret. Shared with the browser
 * code (web/), which reads it from the page's meta tag.
 */
export interface CatalogueSettings {
  /** `oidc`: the page signs the user in before it shows anything of the catalogue. */
  readAuth: "none" | "oidc";
  /** OIDC issuer and public client id of the sign-in (empty without OIDC). */
  oidcIssuer: string;
  oidcClientId: string;
  /** Login routes this registry answers under /v0.1/auth/ (github-at, dns, none, ...). */
  loginMethods: string[];
  /** GitHub OAuth app of `mcp-publisher login github` (empty when none is configured). */
  githubClientId: string;
  version: string;
  /** Titles of the taxonomy's categories for the filters; absent with private reads (fetched after sign-in). */
  categories?: Array<{ id: string; title: string }>;
}

/** The name of the meta tag whose content is the JSON of CatalogueSettings. */
export const SETTINGS_META_NAME = "mcp-registry-config";

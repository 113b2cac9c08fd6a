import { z } from "zod";
import { flag, integer } from "../auth/env";
import { parseCredentials } from "./credentials";
import { normalizeBaseUrl } from "./urls";

function items(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A list of https:// base URLs (plain http only on loopback). */
const baseUrlList = (defaults: string) =>
  z
    .string()
    .default(defaults)
    .transform((raw, ctx) => {
      const out: string[] = [];
      for (const item of items(raw)) {
        const url = normalizeBaseUrl(item);
        if (url === undefined) {
          ctx.addIssue({
            code: "custom",
            message: `"${item}" is not an https:// base URL (plain http only for localhost), without query or credentials`,
          });
          return z.NEVER;
        }
        out.push(url);
      }
      return out;
    });

const HOST_PATTERN =
  /^(\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;

/** Host names (with an optional port), or `*.suffix` for every host under a domain. */
const hostList = (defaults: string) =>
  z
    .string()
    .default(defaults)
    .transform((raw, ctx) => {
      const out: string[] = [];
      for (const item of items(raw.toLowerCase())) {
        if (!HOST_PATTERN.test(item)) {
          ctx.addIssue({
            code: "custom",
            message: `"${item}" is not a host name (host, host:port or *.domain)`,
          });
          return z.NEVER;
        }
        out.push(item);
      }
      return out;
    });

/** http(s) URL of the GKE metadata server (plain http is what it speaks). */
const metadataUrl = z
  .string()
  .default("http://metadata.google.internal")
  .transform((raw, ctx) => {
    try {
      const parsed = new URL(raw.trim());
      if ((parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.search === "")
        return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: `expected an http(s):// URL, got "${raw}"` });
    return z.NEVER;
  });

const credentials = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    try {
      return parseCredentials(raw);
    } catch (error) {
      // The message names the entry and field, never a secret value.
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The official registry's allow-list of OCI registries (Artifact Registry and ACR by domain). */
export const DEFAULT_OCI_REGISTRIES = "docker.io,ghcr.io,quay.io,mcr.microsoft.com,*.pkg.dev,*.azurecr.io";
/** GitHub and GitLab release downloads, and the hosts GitHub redirects release assets to. */
export const DEFAULT_MCPB_HOSTS =
  "github.com,www.github.com,gitlab.com,www.gitlab.com,objects.githubusercontent.com,release-assets.githubusercontent.com";

/**
 * Environment variables of package verification (ownership proof in npm, PyPI, NuGet, OCI and MCPB
 * hosts). Core merges this shape into its own schema; the embedded `npm start` turns the switch off.
 */
export const verifyEnv = z.object({
  /** The official registry's name for the switch: verify packages on publish and edit. */
  MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: flag(true),
  /** Allowed registry base URLs per type; the first is used when a package names none. */
  MCP_REGISTRY_NPM_REGISTRY_URLS: baseUrlList("https://registry.npmjs.org"),
  MCP_REGISTRY_PYPI_URLS: baseUrlList("https://pypi.org"),
  MCP_REGISTRY_NUGET_URLS: baseUrlList("https://api.nuget.org/v3/index.json"),
  MCP_REGISTRY_OCI_REGISTRIES: hostList(DEFAULT_OCI_REGISTRIES),
  MCP_REGISTRY_MCPB_HOSTS: hostList(DEFAULT_MCPB_HOSTS),
  /** JSON list of credentials for private registries (see README); secrets inline, in files or in variables. */
  MCP_REGISTRY_PACKAGE_CREDENTIALS: credentials,
  MCP_REGISTRY_PACKAGE_TIMEOUT_MS: integer(10_000, 100, 120_000),
  MCP_REGISTRY_PACKAGE_MAX_BYTES: integer(16_777_216, 4_096, 268_435_456),
  MCP_REGISTRY_MCPB_TIMEOUT_MS: integer(60_000, 100, 600_000),
  MCP_REGISTRY_MCPB_MAX_BYTES: integer(104_857_600, 4_096, 2_147_483_647),
  /** How long a successful proof is remembered (0 = never). */
  MCP_REGISTRY_PACKAGE_CACHE_SECONDS: integer(300, 0, 86_400),
  /** Lets verification reach private addresses, for internal registries you list (SSRF otherwise). */
  MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE: flag(false),
  /** The GKE metadata server, source of Workload Identity tokens for Artifact Registry. */
  MCP_REGISTRY_GCP_METADATA_URL: metadataUrl,
});

export type VerifyEnv = z.output<typeof verifyEnv>;

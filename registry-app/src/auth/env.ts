import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { parseSigningKey } from "./keys";

/** Accepts the usual spellings of a boolean flag in an environment variable. */
export const flag = (defaultValue: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no", ""], {
      error: "expected true or false",
    })
    .default(defaultValue ? "true" : "false")
    .transform((value) => value === "true" || value === "1" || value === "yes");

export const integer = (defaultValue: number, min: number, max: number) =>
  z
    .string()
    .default(String(defaultValue))
    .transform((raw, ctx) => {
      const value = raw.trim() === "" ? defaultValue : Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got "${raw}"` });
        return z.NEVER;
      }
      return value;
    });

/** A comma- or whitespace-separated list, e.g. "com.example/*, io.github.acme/*". */
const list = () =>
  z
    .string()
    .default("")
    .transform((raw) =>
      raw
        .split(/[\s,]+/)
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );

/** Permission patterns: "*", "prefix*" or an exact name; nothing that could smuggle in other syntax. */
const patternList = () =>
  list().transform((items, ctx) => {
    for (const item of items) {
      if (!/^(\*|[A-Za-z0-9][A-Za-z0-9._/-]*\*?)$/.test(item)) {
        ctx.addIssue({
          code: "custom",
          message: `"${item}" is not a permission pattern ("*", "prefix*" or an exact server name)`,
        });
        return z.NEVER;
      }
    }
    return items;
  });

/** http(s) URL without a trailing slash; plain http only for loopback hosts (tests, local dev). */
export const url = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((raw, ctx) => {
      const value = raw.trim();
      if (value === "") return "";
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        ctx.addIssue({ code: "custom", message: `expected an https:// URL, got "${raw}"` });
        return z.NEVER;
      }
      const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
      if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
        ctx.addIssue({ code: "custom", message: `expected an https:// URL, got "${raw}"` });
        return z.NEVER;
      }
      return value.replace(/\/+$/, "");
    });

export type ExtraClaims = Record<string, string | number | boolean>;

/** JSON object (or array of objects, all of which must hold) of claim -> exact required value. */
const extraClaims = z
  .string()
  .default("")
  .transform((raw, ctx): ExtraClaims => {
    if (raw.trim() === "") return {};
    const message = 'expected JSON like {"hd":"example.com"} or [{"hd":"example.com"}]';
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    const objects = Array.isArray(parsed) ? parsed : [parsed];
    const merged: ExtraClaims = {};
    for (const object of objects) {
      if (typeof object !== "object" || object === null || Array.isArray(object)) {
        ctx.addIssue({ code: "custom", message });
        return z.NEVER;
      }
      for (const [claim, value] of Object.entries(object as Record<string, unknown>)) {
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
          ctx.addIssue({ code: "custom", message: `claim "${claim}" must be a string, number or boolean` });
          return z.NEVER;
        }
        merged[claim] = value;
      }
    }
    return merged;
  });

const signingKey = z
  .string({ error: "required: a hex 32-byte Ed25519 seed or a PKCS#8 PEM Ed25519 private key" })
  .transform((raw, ctx): KeyObject => {
    try {
      return parseSigningKey(raw);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/**
 * Environment variables of the auth module. Keys are the variable names; core merges this
 * shape into its own schema and parses process.env once. Cross-field rules are checked in createAuth.
 */
export const authEnv = z.object({
  /** Ed25519 signing key of registry tokens: hex 32-byte seed (official format) or PKCS#8 PEM. */
  MCP_REGISTRY_JWT_PRIVATE_KEY: signingKey,
  /** `iss` of registry tokens; tokens of another issuer are refused. */
  MCP_REGISTRY_JWT_ISSUER: z.string().min(1).default("mcp-registry"),
  /** Lifetime of a registry token (official: 5 minutes). */
  MCP_REGISTRY_TOKEN_TTL_SECONDS: integer(300, 30, 86_400),
  MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: flag(false),
  MCP_REGISTRY_GITHUB_CLIENT_ID: z.string().default(""),
  MCP_REGISTRY_GITHUB_CLIENT_SECRET: z.string().default(""),
  /** GitHub REST API base; GitHub Enterprise Server uses https://<host>/api/v3. */
  MCP_REGISTRY_GITHUB_API_URL: url("https://api.github.com"),
  MCP_REGISTRY_GITHUB_OIDC_ISSUER: url("https://token.actions.githubusercontent.com"),
  MCP_REGISTRY_GITHUB_OIDC_AUDIENCE: z.string().min(1).default("mcp-registry"),
  /** Generic OIDC login (/auth/oidc) and private reads. */
  MCP_REGISTRY_OIDC_ENABLED: flag(false),
  MCP_REGISTRY_OIDC_ISSUER: url(""),
  MCP_REGISTRY_OIDC_CLIENT_ID: z.string().default(""),
  MCP_REGISTRY_OIDC_EXTRA_CLAIMS: extraClaims,
  MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: patternList(),
  MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: patternList(),
  /** "oidc": every read route needs a Bearer token from the configured OIDC issuer. */
  MCP_REGISTRY_READ_AUTH: z.enum(["none", "oidc"], { error: "expected none or oidc" }).default("none"),
  /** Namespaces nobody but a `*` holder may get a token for, e.g. "com.evil,io.github.spammer". */
  MCP_REGISTRY_BLOCKED_NAMESPACES: patternList(),
  /** Requests per minute per client IP; 0 disables the app-level limit. */
  MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: integer(30, 0, 1_000_000),
  MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: integer(60, 0, 1_000_000),
  /** Body size limit of POST /auth/* requests (413 above it). */
  MCP_REGISTRY_AUTH_BODY_LIMIT_BYTES: integer(16_384, 256, 1_048_576),
  /** Timeouts and caps of outbound calls. */
  MCP_REGISTRY_AUTH_OUTBOUND_TIMEOUT_MS: integer(10_000, 100, 60_000),
  MCP_REGISTRY_AUTH_DNS_TIMEOUT_MS: integer(5_000, 100, 60_000),
  MCP_REGISTRY_AUTH_HTTP_TIMEOUT_MS: integer(10_000, 100, 60_000),
  MCP_REGISTRY_AUTH_OUTBOUND_MAX_BYTES: integer(1_048_576, 4_096, 16_777_216),
  MCP_REGISTRY_JWKS_CACHE_SECONDS: integer(600, 0, 86_400),
  /** Lets the http method reach private/loopback addresses (never in production: SSRF). */
  MCP_REGISTRY_HTTP_AUTH_ALLOW_PRIVATE: flag(false),
  /** Kubernetes service accounts (/auth/kubernetes): the cluster's service account issuer; empty = off. */
  MCP_REGISTRY_KUBERNETES_ISSUER: url(""),
  /** Where the issuer's discovery document is fetched when the issuer URL is not reachable (default: the issuer). */
  MCP_REGISTRY_KUBERNETES_DISCOVERY_URL: url(""),
  /** CA bundle (PEM file) that the discovery and JWKS endpoints are verified with; empty = the system's. */
  MCP_REGISTRY_KUBERNETES_CA_FILE: z.string().trim().default(""),
  MCP_REGISTRY_KUBERNETES_AUDIENCE: z.string().min(1).default("mcp-registry"),
  /** `namespace/name` of the service accounts that may log in (the registry controller). */
  MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS: list().transform((items, ctx) => {
    for (const item of items) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(item)) {
        ctx.addIssue({ code: "custom", message: `"${item}" is not namespace/name of a service account` });
        return z.NEVER;
      }
    }
    return items;
  }),
  MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS: patternList(),
  MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS: patternList(),
});

export type AuthEnv = z.output<typeof authEnv>;

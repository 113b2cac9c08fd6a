import path from "node:path";
import { z } from "zod";
import { authEnv, generateSigningKeyHex } from "./auth";
import { flag, integer, url } from "./auth/env";
import { verifyEnv } from "./verify";
import { DEFAULT_TAXONOMY, loadTaxonomyFile, TaxonomyFileError, type Taxonomy } from "./classification";
import { packageVersion } from "./version";

/** `[host]:port` as the official registry spells it (`:8080`); an empty host listens on all IPv4 addresses. */
export const listenAddress = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((raw, ctx) => {
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(raw.trim());
      const port = Number(match?.[3]);
      if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
        ctx.addIssue({ code: "custom", message: `expected [host]:port such as :8080, got "${raw}"` });
        return z.NEVER;
      }
      return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
    });

/** postgres:// or postgresql:// URL; empty means "no database configured" (embedded mode). */
const databaseUrl = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const value = raw.trim();
    if (value === "") return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !["postgres:", "postgresql:"].includes(parsed.protocol)) {
      // Never echo the value: it usually carries a password.
      ctx.addIssue({ code: "custom", message: "expected a postgres://user:password@host:5432/db URL" });
      return z.NEVER;
    }
    return value;
  });

/** Any http(s) URL (collectors usually speak plain http inside the cluster). */
export const httpUrl = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const value = raw.trim();
    if (value === "") return "";
    try {
      const parsed = new URL(value);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") return value.replace(/\/+$/, "");
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: `expected an http(s):// URL, got "${raw}"` });
    return z.NEVER;
  });

/** Fastify's trustProxy: false, true, a hop count, or a comma list of addresses/CIDRs. */
const trustProxy = z
  .string()
  .default("false")
  .transform((raw, ctx): boolean | number | string[] => {
    const value = raw.trim();
    if (value === "" || value === "false") return false;
    if (value === "true") return true;
    if (/^\d{1,2}$/.test(value)) return Number(value);
    const entries = value.split(/[\s,]+/).filter((entry) => entry !== "");
    if (entries.every((entry) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry))) return entries;
    ctx.addIssue({
      code: "custom",
      message: `expected false, true, a hop count or a comma list of addresses/CIDRs, got "${raw}"`,
    });
    return z.NEVER;
  });

/** A YAML or JSON taxonomy file; empty means the built-in categories. Every bad entry is named at once. */
const categoriesFile = z
  .string()
  .default("")
  .transform((raw, ctx): Taxonomy => {
    const file = raw.trim();
    if (file === "") return DEFAULT_TAXONOMY;
    try {
      return loadTaxonomyFile(file);
    } catch (error) {
      if (!(error instanceof TaxonomyFileError)) throw error;
      ctx.addIssue({ code: "custom", message: `${file}: ${error.problems.join("; ")}` });
      return z.NEVER;
    }
  });

const coreEnv = z.object({
  /** Listen address of the API, metrics and probes (Kubernetes expects :8080). */
  MCP_REGISTRY_SERVER_ADDRESS: listenAddress(":8080"),
  /** PostgreSQL URL; absent = start embedded PostgreSQL under MCP_REGISTRY_EMBEDDED_DATA_DIR. */
  MCP_REGISTRY_DATABASE_URL: databaseUrl,
  /** Where the API's reads go: a streaming standby (CloudNativePG's -ro service); absent = the primary. */
  MCP_REGISTRY_DATABASE_READ_URL: databaseUrl,
  /** Named prepared statements on the primary; false behind PgBouncer < 1.21 or without max_prepared_statements. */
  MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS: flag(true),
  /** The same for the read URL. */
  MCP_REGISTRY_DATABASE_READ_PREPARED_STATEMENTS: flag(true),
  MCP_REGISTRY_DATABASE_POOL_SIZE: integer(10, 1, 500),
  MCP_REGISTRY_DATABASE_CONNECT_TIMEOUT_MS: integer(5_000, 100, 120_000),
  MCP_REGISTRY_DATABASE_STATEMENT_TIMEOUT_MS: integer(15_000, 100, 600_000),
  /** false for sites that forbid DDL at start: run the `migrate` command instead. */
  MCP_REGISTRY_MIGRATE_ON_START: flag(true),
  /** File path or URL of a server.json array, or a registry base URL to page through. */
  MCP_REGISTRY_SEED_FROM: z.string().default(""),
  /** Upstream registry base URL of the `sync` command. */
  MCP_REGISTRY_SYNC_FROM: url(""),
  /** `sync` re-reads this much before its watermark, for upstream transactions that committed late. */
  MCP_REGISTRY_SYNC_OVERLAP_SECONDS: integer(300, 0, 86_400),
  /** Request body limit of the API (413 above it). */
  MCP_REGISTRY_BODY_LIMIT_BYTES: integer(1_048_576, 1_024, 104_857_600),
  MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS: integer(20, 0, 3_600),
  /** Byte budget of the in-process cache of read answers (0 = off); see README "Caching and consistency". */
  MCP_REGISTRY_READ_CACHE_MAX_BYTES: integer(33_554_432, 0, 1_073_741_824),
  /** Categories publishers and administrators may use (GET /v0.1/categories); built-in when unset. */
  MCP_REGISTRY_CATEGORIES_FILE: categoriesFile,
  /** Facet counts from an in-memory index of every version's facet columns; false: SQL every time. */
  MCP_REGISTRY_FACET_INDEX: flag(true),
  MCP_REGISTRY_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "expected fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
  /** Client IPs for rate limits come from X-Forwarded-For only through these proxies. */
  MCP_REGISTRY_TRUST_PROXY: trustProxy,
  /** Build facts for GET /version (the image sets them from build arguments). */
  MCP_REGISTRY_VERSION: z.string().min(1).default(packageVersion),
  MCP_REGISTRY_GIT_COMMIT: z.string().min(1).default("unknown"),
  MCP_REGISTRY_BUILD_TIME: z.string().min(1).default("unknown"),
  /** Embedded PostgreSQL (local use only). */
  MCP_REGISTRY_EMBEDDED_DATA_DIR: z
    .string()
    .default(".data")
    .transform((value) => path.resolve(value)),
  MCP_REGISTRY_EMBEDDED_PORT: integer(54_329, 1_024, 65_535),
  /** OpenTelemetry: traces go to <endpoint>/v1/traces over OTLP/HTTP when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  OTEL_SERVICE_NAME: z.string().min(1).default("mcp-registry"),
});

export const configSchema = z
  .object({ ...coreEnv.shape, ...authEnv.shape, ...verifyEnv.shape })
  .superRefine((config, ctx) => {
    if (
      config.MCP_REGISTRY_DATABASE_READ_URL !== undefined &&
      config.MCP_REGISTRY_DATABASE_URL === undefined
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["MCP_REGISTRY_DATABASE_READ_URL"],
        message: "needs MCP_REGISTRY_DATABASE_URL (a standby of the embedded database is not supported)",
      });
    }
  });

export type Config = z.output<typeof configSchema>;

/** The variables of this service, for the README table and for spotting typos. */
export const knownVariables: readonly string[] = Object.keys(configSchema.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Without a database URL the service runs embedded for local use: a throwaway signing key,
 * anonymous publishing and no package verification unless the caller set them.
 */
function withEmbeddedDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if ((env.MCP_REGISTRY_DATABASE_URL ?? "").trim() !== "") return env;
  return {
    ...env,
    MCP_REGISTRY_JWT_PRIVATE_KEY: env.MCP_REGISTRY_JWT_PRIVATE_KEY || generateSigningKeyHex(),
    MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: env.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH || "true",
    MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: env.MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION || "false",
  };
}

/** Parses the environment once; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = configSchema.safeParse(withEmbeddedDefaults(env));
  if (result.success) return result.data;
  const lines = new Map<string, string>();
  for (const issue of result.error.issues) {
    const variable = String(issue.path[0] ?? "environment");
    if (!lines.has(variable)) lines.set(variable, `${variable}: ${issue.message}`);
  }
  throw new ConfigError([...lines.values()]);
}

/** Set by the Kubernetes Deployment only so that $(VAR) expansion can build MCP_REGISTRY_DATABASE_URL. */
const EXPANSION_ONLY = ["MCP_REGISTRY_DATABASE_USER", "MCP_REGISTRY_DATABASE_PASSWORD"];

/** MCP_REGISTRY_* variables this service does not know: likely typos, reported as warnings. */
export function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = new Set([...knownVariables, ...EXPANSION_ONLY]);
  return Object.keys(env)
    .filter((key) => key.startsWith("MCP_REGISTRY_") && !known.has(key))
    .sort();
}

import type { FastifyInstance } from "fastify";
import { generateSigningKeyHex, type AuthDeps, type RegistryPermission } from "../../src/auth";
import { loadConfig, type Config } from "../../src/config";
import { createLogger, loggerOptions } from "../../src/logger";
import {
  buildRegistry,
  openRuntime,
  prepareSchema,
  type BuiltRegistry,
  type Runtime,
  type RuntimeOptions,
} from "../../src/server";
import { freshDatabaseUrl } from "./postgres";

export interface TestRegistry {
  config: Config;
  runtime: Runtime;
  app: FastifyInstance;
  registry: BuiltRegistry;
  /** A registry token with the given permissions, as /auth/* would mint it. */
  token(permissions: RegistryPermission[], method?: string): Promise<string>;
  close(): Promise<void>;
}

/** Environment of a test registry on a fresh database (silent logs unless overridden). */
export async function testEnv(label: string, env: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    MCP_REGISTRY_DATABASE_URL: await freshDatabaseUrl(label),
    MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
    MCP_REGISTRY_LOG_LEVEL: "silent",
    MCP_REGISTRY_DATABASE_POOL_SIZE: "5",
    MCP_REGISTRY_VERSION: "9.9.9-test",
    MCP_REGISTRY_GIT_COMMIT: "abc123",
    MCP_REGISTRY_BUILD_TIME: "2026-01-01T00:00:00Z",
    // On by default in the service; suites that test verification turn it on against loopback fakes.
    MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "false",
    ...env,
  };
}

/** A migrated registry on its own database, driven in-process with app.inject. */
export async function testRegistry(
  label: string,
  env: Record<string, string> = {},
  options: {
    authDeps?: AuthDeps;
    logStream?: NodeJS.WritableStream;
    fetch?: typeof fetch;
    packageTransport?: RuntimeOptions["packageTransport"];
  } = {},
): Promise<TestRegistry> {
  const config = loadConfig(await testEnv(label, env));
  const log = createLogger("silent", "test");
  const runtime = await openRuntime(config, log, {
    defaultMetrics: false,
    fetch: options.fetch,
    packageTransport: options.packageTransport,
  });
  await prepareSchema(runtime);
  const registry = await buildRegistry(runtime, {
    tracing: false,
    authDeps: options.authDeps,
    logger: options.logStream
      ? { ...loggerOptions(config.MCP_REGISTRY_LOG_LEVEL, "test"), stream: options.logStream }
      : false,
  });
  return {
    config,
    runtime,
    app: registry.app,
    registry,
    token: async (permissions, method = "test") =>
      (await registry.auth.issueToken(method, "tester", permissions)).registry_token,
    close: async () => {
      await registry.app.close();
      await runtime.close();
    },
  };
}

/** A minimal valid server.json. */
export function serverJson(
  name: string,
  version: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
    name,
    description: `Test server ${name}`,
    version,
    ...extra,
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Hits and misses of a registry's read cache, from its /metrics. */
export async function cacheLookups(registry: TestRegistry): Promise<{ hit: number; miss: number }> {
  const text = (await registry.app.inject({ method: "GET", url: "/metrics" })).body;
  const count = (outcome: string) =>
    Number(
      new RegExp(`^mcp_registry_read_cache_lookups_total\\{outcome="${outcome}"\\} (\\d+)`, "m").exec(
        text,
      )?.[1] ?? 0,
    );
  return { hit: count("hit"), miss: count("miss") };
}

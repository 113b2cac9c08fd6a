import type { FastifyServerOptions } from "fastify";
import { createAuth, type Auth, type AuthDeps } from "./auth";
import type { Config } from "./config";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded";
import { buildApp, Metrics, type RegistryApp } from "./http";
import { DEMO_CATALOGUE, Ingestor, type IngestReport } from "./ingest";
import { loggerOptions, stdoutDestination, type Logger } from "./logger";
import { ClassificationService, RegistryService } from "./service";
import { RegistryPackageVerifier, type VerifierDeps } from "./verify";
import { ClassificationStore, Database, migrate, MIGRATIONS, schemaVersion, ServerStore } from "./store";

/** Everything a command needs, wired once: database, store, service, auth, metrics. */
export interface Runtime {
  config: Config;
  log: Logger;
  db: Database;
  /** The pool of MCP_REGISTRY_DATABASE_READ_URL, when set. */
  reads?: Database;
  store: ServerStore;
  service: RegistryService;
  classifications: ClassificationService;
  metrics: Metrics;
  ingestor: Ingestor;
  /** Set when no database URL was configured and PostgreSQL runs embedded. */
  embedded?: EmbeddedDatabase;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Prometheus process metrics (off in tests that build many runtimes in one process). */
  defaultMetrics?: boolean;
  fetch?: typeof fetch;
  /** Outbound transport of package verification (tests count or break requests). */
  packageTransport?: VerifierDeps["send"];
}

/** Retries the first connection: in Kubernetes the database may come up after the app. */
async function waitForDatabase(db: Database, log: Logger, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    if (await db.ping(5_000)) return;
    if (Date.now() >= deadline)
      throw new Error(`the database did not answer within ${Math.round(timeoutMs / 1000)} s`);
    log.warn({ attempt }, "waiting for the database");
    await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
  }
}

export async function openRuntime(
  config: Config,
  log: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.MCP_REGISTRY_DATABASE_URL;
  if (url === undefined) {
    embedded = await startEmbeddedPostgres(
      config.MCP_REGISTRY_EMBEDDED_DATA_DIR,
      config.MCP_REGISTRY_EMBEDDED_PORT,
      log,
    );
    url = embedded.url;
  }
  const pool = {
    poolSize: config.MCP_REGISTRY_DATABASE_POOL_SIZE,
    connectTimeoutMs: config.MCP_REGISTRY_DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.MCP_REGISTRY_DATABASE_STATEMENT_TIMEOUT_MS,
  };
  const db = new Database({
    ...pool,
    url,
    preparedStatements: config.MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS,
  });
  const readUrl = config.MCP_REGISTRY_DATABASE_READ_URL;
  const reads =
    readUrl === undefined
      ? undefined
      : new Database({
          ...pool,
          url: readUrl,
          preparedStatements: config.MCP_REGISTRY_DATABASE_READ_PREPARED_STATEMENTS,
          applicationName: "mcp-registry-reads",
        });
  const close = async () => {
    await reads?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };
  try {
    // Not the read pool: reads fall back to the primary while no standby answers.
    await waitForDatabase(db, log, 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  const metrics = new Metrics({
    defaultMetrics: options.defaultMetrics ?? true,
    poolStats: () => db.poolStats(),
  });
  const store = new ServerStore(db, reads);
  const taxonomy = config.MCP_REGISTRY_CATEGORIES_FILE;
  const service = new RegistryService(store, {
    events: metrics.serviceEvents(),
    packages: {
      verifier: new RegistryPackageVerifier(config, { send: options.packageTransport }),
      enforce: config.MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION,
    },
    taxonomy,
    facetIndex: config.MCP_REGISTRY_FACET_INDEX,
  });
  const classifications = new ClassificationService(new ClassificationStore(db), taxonomy);
  const ingestor = new Ingestor(service, store, log, { fetch: options.fetch ?? fetch });
  return { config, log, db, reads, store, service, classifications, metrics, ingestor, embedded, close };
}

/** Migrates at start, or checks that someone ran `migrate` where DDL at start is forbidden. */
export async function prepareSchema(runtime: Runtime): Promise<void> {
  if (runtime.config.MCP_REGISTRY_MIGRATE_ON_START) {
    const result = await migrate(runtime.db);
    runtime.log.info({ applied: result.applied, schema: result.current }, "database schema is current");
    return;
  }
  const expected = Math.max(...MIGRATIONS.map((migration) => migration.version));
  const actual = await schemaVersion(runtime.db);
  if (actual < expected) {
    throw new Error(
      `the database schema is at version ${actual}, this build needs ${expected}: run the migrate command ` +
        "(MCP_REGISTRY_MIGRATE_ON_START=false forbids migrating at start)",
    );
  }
}

/** Seeds from MCP_REGISTRY_SEED_FROM, or the demo catalogue into an embedded database. */
export async function seedAtStart(runtime: Runtime): Promise<IngestReport | undefined> {
  const source = runtime.config.MCP_REGISTRY_SEED_FROM.trim();
  let report: IngestReport | undefined;
  if (source !== "") report = await runtime.ingestor.seed(source);
  else if (runtime.embedded !== undefined)
    report = await runtime.ingestor.publishAll(
      DEMO_CATALOGUE.map((document, index) => ({ origin: `demo[${index}]`, document })),
      "demo",
    );
  if (report !== undefined)
    runtime.log.info({ ...report, source: source || "demo catalogue" }, "seed finished");
  return report;
}

export interface BuiltRegistry extends RegistryApp {
  auth: Auth;
}

export interface BuildOptions {
  tracing: boolean;
  authDeps?: AuthDeps;
  /** Fastify's logger; the configured JSON logger when absent. */
  logger?: FastifyServerOptions["logger"];
}

/** The HTTP app on a runtime: auth from the same configuration, readiness from the pool. */
export async function buildRegistry(runtime: Runtime, options: BuildOptions): Promise<BuiltRegistry> {
  const { config } = runtime;
  const auth = await createAuth(config, options.authDeps);
  const built = await buildApp({
    service: runtime.service,
    classifications: runtime.classifications,
    auth,
    metrics: runtime.metrics,
    databaseReady: () => runtime.db.ping(2_000),
    build: {
      version: config.MCP_REGISTRY_VERSION,
      gitCommit: config.MCP_REGISTRY_GIT_COMMIT,
      buildTime: config.MCP_REGISTRY_BUILD_TIME,
    },
    bodyLimit: config.MCP_REGISTRY_BODY_LIMIT_BYTES,
    trustProxy: config.MCP_REGISTRY_TRUST_PROXY,
    logger: options.logger ?? {
      ...loggerOptions(config.MCP_REGISTRY_LOG_LEVEL, config.OTEL_SERVICE_NAME),
      stream: stdoutDestination(),
    },
    tracing: options.tracing,
    readCacheMaxBytes: config.MCP_REGISTRY_READ_CACHE_MAX_BYTES,
    catalogue: {
      readAuth: config.MCP_REGISTRY_READ_AUTH,
      oidcIssuer: config.MCP_REGISTRY_OIDC_ENABLED ? config.MCP_REGISTRY_OIDC_ISSUER : "",
      oidcClientId: config.MCP_REGISTRY_OIDC_ENABLED ? config.MCP_REGISTRY_OIDC_CLIENT_ID : "",
      loginMethods: auth.loginMethods,
      githubClientId: config.MCP_REGISTRY_GITHUB_CLIENT_ID,
      version: config.MCP_REGISTRY_VERSION,
      // Private registries show nothing before sign-in: the page fetches the taxonomy with its token.
      categories:
        config.MCP_REGISTRY_READ_AUTH === "oidc"
          ? undefined
          : runtime.classifications.categories().map(({ id, title }) => ({ id, title })),
    },
  });
  return { ...built, auth };
}

export interface Serving extends BuiltRegistry {
  address: string;
}

/** Builds the HTTP app and listens on MCP_REGISTRY_SERVER_ADDRESS. */
export async function serve(runtime: Runtime, options: BuildOptions): Promise<Serving> {
  const built = await buildRegistry(runtime, options);
  const { host, port } = runtime.config.MCP_REGISTRY_SERVER_ADDRESS;
  const address = await built.app.listen({ host, port });
  return { ...built, address };
}

/** A drain closes a keep-alive connection that stays idle this long after SIGTERM (or its last response). */
export const DRAIN_IDLE_GRACE_MS = 2_000;

/**
 * SIGTERM: readiness fails and the listener closes (new connections are refused, which callers may
 * always retry elsewhere); in-flight requests finish and every response from now on carries
 * `Connection: close`, so each client learns before its connection closes; connections idle for
 * DRAIN_IDLE_GRACE_MS are closed; whatever is still open when the grace period ends is cut.
 * Resolves once everything is closed.
 */
export async function drain(registry: RegistryApp, graceMs: number, log: Logger): Promise<void> {
  registry.startDraining();
  const deadlineMs = Math.max(0, graceMs - 500);
  const clean = await registry.connections.drain(Math.min(DRAIN_IDLE_GRACE_MS, graceMs / 2), deadlineMs);
  if (!clean) {
    log.warn(
      { graceMs, connections: registry.connections.size },
      "grace period over; closing the remaining connections",
    );
    registry.app.server.closeAllConnections();
  }
  await registry.app.close();
}

import { ConfigError, loadConfig, unknownVariables, type Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { drain, openRuntime, prepareSchema, seedAtStart, serve } from "./server";
import { migrate } from "./store";
import type { Tracing } from "./telemetry";

const USAGE = `usage: main [command]
  serve            run the registry (default)
  migrate          apply database migrations and exit
  seed [source]    publish from a file, directory, URL or registry (default MCP_REGISTRY_SEED_FROM)
  sync [upstream]  pull changes from an upstream registry (default MCP_REGISTRY_SYNC_FROM)
  import <path>    publish server.json documents from a file or directory
  controller       publish MCPServer resources of a Kubernetes cluster (MCP_REGISTRY_CONTROLLER_*)`;

class UsageError extends Error {}

async function runServe(config: Config, log: Logger, tracing: Tracing | undefined): Promise<void> {
  const runtime = await openRuntime(config, log);
  let serving;
  try {
    await prepareSchema(runtime);
    // A seed source that is down must not keep the registry down; the data already stored is served.
    await seedAtStart(runtime).catch((error: unknown) =>
      log.error({ err: error }, `seeding failed; serving what is stored: ${(error as Error).message}`),
    );
    serving = await serve(runtime, { tracing: tracing !== undefined });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  log.info(
    {
      address: serving.address,
      embedded: runtime.embedded !== undefined,
      version: config.MCP_REGISTRY_VERSION,
    },
    "registry is serving",
  );
  const graceMs = config.MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS * 1000;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceSeconds: config.MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS }, "draining");
    // Whatever happens below, the process is gone by the end of the grace period.
    setTimeout(() => process.exit(0), graceMs + 1_000).unref();
    void drain(serving, graceMs, log)
      .catch((error: unknown) => log.error({ err: error }, "drain failed"))
      .then(() => runtime.close())
      .then(() => tracing?.shutdown())
      .catch(() => undefined)
      .finally(() => {
        log.info("stopped");
        process.exit(0);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** The Kubernetes controller: no database of its own, so its own configuration instead of the registry's. */
async function runControllerCommand(): Promise<number> {
  const { ControllerConfigError, loadControllerConfig, runController } =
    await import("./controller/index.js");
  let config;
  try {
    config = loadControllerConfig(process.env);
  } catch (error) {
    if (error instanceof ControllerConfigError) {
      process.stderr.write(`${error.problems.join("\n")}\n`);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel, "mcp-registry-controller");
  const controller = await runController(config, log);
  log.info({ address: controller.address, identity: config.identity }, "controller is running");
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, "stopping");
    void controller.stop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // A replica that lost the lease exits; Kubernetes restarts it as a standby.
  void controller.stopped.then((how) => {
    if (how === "lost-lease") process.exit(1);
  });
  return -1;
}

/** Commands that run once against the database and exit. */
async function runOnce(config: Config, log: Logger, command: string, args: string[]): Promise<void> {
  const runtime = await openRuntime(config, log, { defaultMetrics: false });
  try {
    if (command === "migrate") {
      const result = await migrate(runtime.db);
      log.info({ applied: result.applied, schema: result.current }, "migrations applied");
      return;
    }
    await prepareSchema(runtime);
    if (command === "seed") {
      const source = args[0] ?? config.MCP_REGISTRY_SEED_FROM;
      if (source.trim() === "")
        throw new UsageError("seed needs a source argument or MCP_REGISTRY_SEED_FROM");
      log.info({ source, ...(await runtime.ingestor.seed(source)) }, "seed finished");
    } else if (command === "import") {
      const target = args[0];
      if (target === undefined) throw new UsageError("import needs a file or directory argument");
      log.info({ path: target, ...(await runtime.ingestor.importPath(target)) }, "import finished");
    } else if (command === "sync") {
      const upstream = args[0] ?? config.MCP_REGISTRY_SYNC_FROM;
      if (upstream === "") throw new UsageError("sync needs an upstream argument or MCP_REGISTRY_SYNC_FROM");
      const report = await runtime.ingestor.sync(upstream, config.MCP_REGISTRY_SYNC_OVERLAP_SECONDS);
      log.info({ upstream, ...report }, "sync finished");
    }
  } finally {
    await runtime.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command = "serve", ...args] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === "controller") return runControllerCommand();
  if (!["serve", "migrate", "seed", "sync", "import"].includes(command)) {
    process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.problems.join("\n")}\n`);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.MCP_REGISTRY_LOG_LEVEL, config.OTEL_SERVICE_NAME);
  for (const variable of unknownVariables(process.env)) {
    log.warn({ variable }, "unknown MCP_REGISTRY_* variable (typo?); it is ignored");
  }
  // The OpenTelemetry SDK (about 12 MiB resident) is loaded only when traces are exported.
  const tracing =
    config.OTEL_EXPORTER_OTLP_ENDPOINT === ""
      ? undefined
      : (await import("./telemetry.js")).startTracing(
          config.OTEL_EXPORTER_OTLP_ENDPOINT,
          config.OTEL_SERVICE_NAME,
          config.MCP_REGISTRY_VERSION,
        );
  try {
    if (command === "serve") {
      await runServe(config, log, tracing);
      return -1;
    }
    await runOnce(config, log, command, args);
    await tracing?.shutdown();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    log.fatal({ err: error }, `${command} failed: ${(error as Error).message}`);
    await tracing?.shutdown().catch(() => undefined);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // -1: a server is running; it exits on SIGTERM.
      if (code >= 0) process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}

import { pino, type Logger, type LoggerOptions } from "pino";
import type { DestinationStream } from "pino";

/** Headers, bodies and variables that carry secrets; pino replaces them with [Redacted]. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "*.authorization",
  "*.registry_token",
  "*.github_token",
  "*.oidc_token",
  "*.signed_timestamp",
  "*.password",
  "*.MCP_REGISTRY_JWT_PRIVATE_KEY",
  "*.MCP_REGISTRY_DATABASE_URL",
  "*.MCP_REGISTRY_GITHUB_CLIENT_SECRET",
];

/** JSON logs, ISO timestamps, secrets redacted; Fastify and the commands share these options. */
export function loggerOptions(level: string, service: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: "[Redacted]" },
    formatters: { level: (label) => ({ level: label }) },
  };
}

let stdout: DestinationStream | undefined;

/**
 * The one stdout of every logger in the process, written asynchronously: under load lines are batched
 * into fewer writes, a single writer keeps lines whole, and pino flushes it synchronously at exit.
 */
export function stdoutDestination(): DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

export function createLogger(level: string, service: string, stream?: DestinationStream): Logger {
  return pino(loggerOptions(level, service), stream ?? stdoutDestination());
}

export type { Logger };

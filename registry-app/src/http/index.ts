export { API_PREFIXES, buildApp, type AppOptions, type BuildFacts, type RegistryApp } from "./app";
export { Metrics, type PoolStats, type PublishOutcome } from "./metrics";
export { buildOpenApiDocument } from "./openapi";

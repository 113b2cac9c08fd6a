/**
 * server.json 2025-12-11: the zod schema (types, OpenAPI) and validateServerJson, the one gate for
 * publish, edit, /validate, seed, import and sync.
 *
 * Decisions (the JSON Schema has no additionalProperties:false anywhere, so nothing is "strict"):
 * - Unknown fields are dropped from the stored document, each reported as a warning naming it.
 * - _meta keeps only io.modelcontextprotocol.registry/publisher-provided (<= 4096 bytes of JSON); other
 *   keys are dropped with a warning; io.modelcontextprotocol.registry/official is refused (error).
 * - $schema: the 2025-12-11 URL is current; earlier published URLs and a missing $schema pass with a
 *   warning (validated as 2025-12-11); any other URL is an error.
 * - `__proto__` keys and a url on a stdio transport are errors.
 * - Private-registry deviations from the official rules: repository sources other than github/gitlab
 *   (self-hosted forges) are not URL-checked, registryBaseUrl is not limited to the public registries,
 *   and remote URLs are at most 2048 bytes (their claims are indexed).
 * - Values PostgreSQL cannot keep exactly (NUL, unpaired surrogates, invalid UTF-8) are refused before
 *   validation, by the JSON body parser and ingestion (./storable.ts).
 */
export {
  OFFICIAL_META_KEY,
  PUBLISHER_META_KEY,
  PUBLISHER_META_MAX_BYTES,
  REGISTRY_TYPES,
  argumentSchema,
  iconSchema,
  keyValueInputSchema,
  localTransportSchema,
  packageSchema,
  remoteTransportSchema,
  repositorySchema,
  serverJsonSchema,
} from "./server-json";
export type { RemoteTransport, ServerJson, ServerPackage } from "./server-json";
export {
  ISSUE_TYPES,
  type ValidationIssue,
  type ValidationResult,
  formatPath,
  validationIssueSchema,
  validationResultSchema,
} from "./issues";
export { validateServerJson, validateServerJsonText } from "./validate";
export { serverJsonJsonSchema } from "./json-schema";
export { CURRENT_SCHEMA_URL, CURRENT_SCHEMA_VERSION, OLDER_SCHEMA_VERSIONS } from "./versions";

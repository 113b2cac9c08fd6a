// server.json: the zod schema (types, OpenAPI) and validateServerJson (publish, /validate, seed, import, sync).
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
  type ValidationIssue,
  type ValidationResult,
  formatPath,
  validationIssueSchema,
  validationResultSchema,
} from "./issues";
export { validateServerJson } from "./validate";
export { serverJsonJsonSchema } from "./json-schema";
export { CURRENT_SCHEMA_URL, CURRENT_SCHEMA_VERSION, OLDER_SCHEMA_VERSIONS } from "./versions";

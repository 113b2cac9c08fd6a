export {
  Database,
  DatabaseUnavailableError,
  isConnectionError,
  isUnavailableError,
  type DatabaseSettings,
  type Queryable,
} from "./db";
export {
  checksum,
  migrate,
  MIGRATIONS,
  schemaVersion,
  type Migration,
  type MigrationResult,
} from "./migrations";
export { FACET_NAMES, type AttributeFilter, type FacetName } from "./attributes";
export {
  ClassificationStore,
  type AuditEntry,
  type ClassificationOverride,
  type OverrideOutcome,
  type OverrideValues,
} from "./classifications";
export {
  byCount,
  countFacets,
  type FacetCount,
  type FacetCounts,
  type FacetRequest,
  type FacetResult,
  type FacetRow,
} from "./facets";
export {
  searchTsquery,
  ServerStore,
  ServerWriter,
  type ListFilter,
  type NewVersion,
  type PublishOutcome,
  type PublishRequest,
  type RankingRow,
  type SearchFilter,
  type ServerStatus,
  type StoredVersion,
  type VersionClassification,
} from "./servers";

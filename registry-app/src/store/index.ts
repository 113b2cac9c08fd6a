export {
  Database,
  DatabaseUnavailableError,
  isConnectionError,
  isUnavailableError,
  StatementDeadlines,
  type DatabaseSettings,
  type Queryable,
  type QueryOptions,
} from "./db";
export {
  checksum,
  migrate,
  MIGRATIONS,
  schemaVersion,
  type Migration,
  type MigrationResult,
} from "./migrations";
export { refusedValueError, StoreRefusedValueError } from "./refusals";
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
  EntryReader,
  searchTsquery,
  ServerStore,
  ServerWriter,
  type EntryRow,
  type Freshness,
  type ListFilter,
  type NewVersion,
  type BatchItemOutcome,
  type BatchOutcome,
  type PublishRequest,
  type RankingRow,
  type SearchFilter,
  type ServerStatus,
  type StoredVersion,
  type Tagged,
  type WrittenEntryRow,
  type VersionClassification,
} from "./servers";

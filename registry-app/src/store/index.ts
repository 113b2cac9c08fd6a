export {
  Database,
  DatabaseUnavailableError,
  isConnectionError,
  isUnavailableError,
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
} from "./servers";

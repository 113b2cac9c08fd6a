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
export { refusedValueError, StoreRefusedValueError } from "./refusals";
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
} from "./servers";

export { GenerationReader } from "./generation";
export { decodeCursor, encodeCursor, type Cursor } from "./cursor";
export {
  DuplicateVersionError,
  MAX_VERSIONS_PER_NAME,
  normalizeRemoteUrl,
  registryWarning,
  RegistryService,
  systemCaller,
  type BatchPublishOutcome,
  type BulkStatusResult,
  type ListPage,
  type EntryAnswer,
  type ListQuery,
  type PackageVerification,
  type ReadOptions,
  type RegistryServiceOptions,
  type ServiceEvents,
  type StatusChange,
} from "./registry";
export {
  chooseLatest,
  compareVersions,
  highest,
  plainSemverMain,
  precedence,
  type VersionFacts,
} from "./versions";

export { GenerationReader } from "./generation";
export { ClassificationService, type ClassificationUpdate, type ClassificationView } from "./classification";
export { decodeCursor, encodeCursor, filterDigest, type Cursor } from "./cursor";
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
  type WrittenVersion,
} from "./registry";
export {
  chooseLatest,
  compareVersions,
  highest,
  plainSemverMain,
  precedence,
  type VersionFacts,
} from "./versions";
export { FACET_NAMES, type AttributeFilter, type FacetCounts, type FacetName } from "../store";

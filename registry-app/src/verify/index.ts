/**
 * Package verification: proof, in each package's own registry, that the package belongs to the
 * server that lists it (npm mcpName, PyPI/NuGet README line, OCI label, MCPB host and SHA-256).
 * The service calls it on publish and edit when MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION is on, and
 * on /validate always (errors when on, warnings when off).
 */
export { verifyEnv, type VerifyEnv } from "./env";
export { RegistryPackageVerifier, type VerifierDeps } from "./verifier";
export type { PackageCheck, PackageVerifier, RegistryKind } from "./types";

import type { ServerJson } from "../schema";

export type RegistryKind = "npm" | "pypi" | "nuget" | "oci" | "mcpb";

/** The result of one package's ownership check. */
export type PackageCheck =
  | { index: number; outcome: "verified" }
  /** The registry answered and the proof is missing or wrong; `message` says exactly what to change. */
  | { index: number; outcome: "finding"; message: string }
  /**
   * The registry could not give an answer: `retryable` for timeouts, refused connections, 429 and 5xx
   * (a 503 to the publisher), otherwise an answer that cannot be used (oversized, a redirect to
   * another host, refused credentials: a 502).
   */
  | { index: number; outcome: "unavailable"; registry: string; reason: string; retryable: boolean };

/** Proves that the packages of a server.json belong to the server that names them. */
export interface PackageVerifier {
  verify(server: ServerJson): Promise<PackageCheck[]>;
}

import type { guardedRequest } from "../auth/outbound";
import type { ServerJson, ServerPackage } from "../schema";
import type { CheckContext, PackageCheckFn } from "./common";
import { CredentialStore } from "./credentials";
import type { VerifyEnv } from "./env";
import { PackageHttp, RegistryUnavailable } from "./http";
import { mcpbCheck } from "./mcpb";
import { MetadataTokenSource } from "./metadata";
import { npmCheck } from "./npm";
import { nugetCheck } from "./nuget";
import { ociCheck } from "./oci";
import { pypiCheck } from "./pypi";
import type { PackageCheck, PackageVerifier, RegistryKind } from "./types";

/** Proofs remembered at most; the oldest goes first. */
const CACHE_ENTRIES = 10_000;

export interface VerifierDeps {
  /** The outbound transport (the SSRF-guarded client by default). */
  send?: typeof guardedRequest;
  now?: () => number;
}

/**
 * Checks every package of a server.json in its registry, in parallel, and remembers proofs that
 * succeeded for MCP_REGISTRY_PACKAGE_CACHE_SECONDS (failures are never remembered).
 */
export class RegistryPackageVerifier implements PackageVerifier {
  private readonly http: PackageHttp;
  private readonly checks: Record<RegistryKind, PackageCheckFn>;
  private readonly proven = new Map<string, number>();
  private readonly now: () => number;
  private readonly cacheMs: number;

  constructor(env: VerifyEnv, deps: VerifierDeps = {}) {
    this.now = deps.now ?? Date.now;
    this.cacheMs = env.MCP_REGISTRY_PACKAGE_CACHE_SECONDS * 1000;
    const google = new MetadataTokenSource({
      baseUrl: env.MCP_REGISTRY_GCP_METADATA_URL,
      timeoutMs: env.MCP_REGISTRY_PACKAGE_TIMEOUT_MS,
      now: this.now,
      send: deps.send,
    });
    this.http = new PackageHttp({
      timeoutMs: env.MCP_REGISTRY_PACKAGE_TIMEOUT_MS,
      maxBytes: env.MCP_REGISTRY_PACKAGE_MAX_BYTES,
      allowPrivate: env.MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE,
      credentials: new CredentialStore(env.MCP_REGISTRY_PACKAGE_CREDENTIALS, () => google.token()),
      send: deps.send,
    });
    this.checks = {
      npm: npmCheck(env.MCP_REGISTRY_NPM_REGISTRY_URLS),
      pypi: pypiCheck(env.MCP_REGISTRY_PYPI_URLS),
      nuget: nugetCheck(env.MCP_REGISTRY_NUGET_URLS, this.now),
      oci: ociCheck(env.MCP_REGISTRY_OCI_REGISTRIES),
      mcpb: mcpbCheck({
        hosts: env.MCP_REGISTRY_MCPB_HOSTS,
        timeoutMs: env.MCP_REGISTRY_MCPB_TIMEOUT_MS,
        maxBytes: env.MCP_REGISTRY_MCPB_MAX_BYTES,
      }),
    };
  }

  verify(server: ServerJson): Promise<PackageCheck[]> {
    return Promise.all((server.packages ?? []).map((pkg, index) => this.check(server, pkg, index)));
  }

  private async check(server: ServerJson, pkg: ServerPackage, index: number): Promise<PackageCheck> {
    const key = JSON.stringify([
      server.name,
      pkg.registryType,
      pkg.registryBaseUrl ?? "",
      pkg.identifier,
      pkg.version ?? "",
      pkg.fileSha256 ?? "",
    ]);
    const until = this.proven.get(key);
    if (until !== undefined && until > this.now()) return { index, outcome: "verified" };
    const ctx: CheckContext = {
      http: this.http,
      index,
      serverName: server.name,
      serverVersion: server.version,
    };
    try {
      const finding = await this.checks[pkg.registryType](pkg, ctx);
      if (finding !== undefined) return { index, outcome: "finding", message: finding };
    } catch (error) {
      if (!(error instanceof RegistryUnavailable)) throw error;
      return {
        index,
        outcome: "unavailable",
        registry: error.registry,
        reason: error.reason,
        retryable: error.retryable,
      };
    }
    this.remember(key);
    return { index, outcome: "verified" };
  }

  private remember(key: string): void {
    if (this.cacheMs === 0) return;
    this.proven.delete(key);
    this.proven.set(key, this.now() + this.cacheMs);
    if (this.proven.size > CACHE_ENTRIES) {
      const oldest = this.proven.keys().next().value;
      if (oldest !== undefined) this.proven.delete(oldest);
    }
  }
}

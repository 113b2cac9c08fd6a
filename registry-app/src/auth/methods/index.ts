import { lookup as dnsLookup, Resolver } from "node:dns/promises";
import type { AuthEnv } from "../env";
import { OidcIssuer, type OidcFetchSettings } from "../oidc";
import { boundedGet, guardedGet } from "../outbound";
import { unauthorized, type RegistryTokens } from "../tokens";
import type { AuthDeps } from "../types";
import type { LoginMethod } from "./common";
import { dnsMethod, httpMethod } from "./domain";
import { githubAtMethod, githubOidcMethod } from "./github";
import { fetchTrusting, kubernetesMethod } from "./kubernetes";
import { noneMethod } from "./none";
import { assertExtraClaims, genericOidcMethod } from "./oidc";

export type { Grant, LoginMethod } from "./common";

export interface LoginMethods {
  /** Methods whose routes exist with this configuration. */
  enabled: LoginMethod[];
  /**
   * Private reads: accepts an ID token of the configured OIDC issuer (audience = client id, extra
   * claims enforced), or a registry token minted by /auth/oidc from such a token.
   */
  verifyReader(token: string, tokens: RegistryTokens): Promise<void>;
}

function defaultResolveTxt(timeoutMs: number): (domain: string) => Promise<string[][]> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  return (domain) => resolver.resolveTxt(domain);
}

async function defaultLookup(hostname: string): Promise<string[]> {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map((result) => result.address);
}

export function createLoginMethods(env: AuthEnv, deps: AuthDeps & { now: () => number }): LoginMethods {
  const fetchImpl = deps.fetch ?? fetch;
  const outbound: OidcFetchSettings = {
    fetch: fetchImpl,
    timeoutMs: env.MCP_REGISTRY_AUTH_OUTBOUND_TIMEOUT_MS,
    maxBytes: env.MCP_REGISTRY_AUTH_OUTBOUND_MAX_BYTES,
    jwksCacheMs: env.MCP_REGISTRY_JWKS_CACHE_SECONDS * 1000,
    now: deps.now,
  };

  const enabled: LoginMethod[] = [
    githubAtMethod({
      fetch: fetchImpl,
      apiUrl: env.MCP_REGISTRY_GITHUB_API_URL,
      timeoutMs: outbound.timeoutMs,
      maxBytes: outbound.maxBytes,
    }),
    githubOidcMethod(
      new OidcIssuer(env.MCP_REGISTRY_GITHUB_OIDC_ISSUER, outbound),
      env.MCP_REGISTRY_GITHUB_OIDC_AUDIENCE,
    ),
    dnsMethod({
      now: deps.now,
      resolveTxt: deps.resolveTxt ?? defaultResolveTxt(env.MCP_REGISTRY_AUTH_DNS_TIMEOUT_MS),
      timeoutMs: env.MCP_REGISTRY_AUTH_DNS_TIMEOUT_MS,
    }),
    httpMethod({
      now: deps.now,
      // Production connects through the guarded lookup (no DNS-rebinding window); tests inject fetch.
      get: deps.fetch
        ? (url, request) => boundedGet(fetchImpl, url, request)
        : (url, request) =>
            guardedGet(url, { ...request, allowPrivate: env.MCP_REGISTRY_HTTP_AUTH_ALLOW_PRIVATE }),
      lookup: deps.lookup ?? defaultLookup,
      timeoutMs: env.MCP_REGISTRY_AUTH_HTTP_TIMEOUT_MS,
      allowPrivate: env.MCP_REGISTRY_HTTP_AUTH_ALLOW_PRIVATE,
    }),
  ];
  if (env.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH) enabled.push(noneMethod());

  if (env.MCP_REGISTRY_KUBERNETES_ISSUER !== "") {
    const caFile = env.MCP_REGISTRY_KUBERNETES_CA_FILE;
    const issuer = new OidcIssuer(
      env.MCP_REGISTRY_KUBERNETES_ISSUER,
      { ...outbound, fetch: caFile === "" ? fetchImpl : fetchTrusting(caFile) },
      env.MCP_REGISTRY_KUBERNETES_DISCOVERY_URL || env.MCP_REGISTRY_KUBERNETES_ISSUER,
    );
    enabled.push(
      kubernetesMethod(issuer, {
        audience: env.MCP_REGISTRY_KUBERNETES_AUDIENCE,
        serviceAccounts: env.MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS,
        publishPatterns: env.MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS,
        editPatterns: env.MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS,
      }),
    );
  }

  let oidcIssuer: OidcIssuer | undefined;
  if (env.MCP_REGISTRY_OIDC_ENABLED) {
    oidcIssuer = new OidcIssuer(env.MCP_REGISTRY_OIDC_ISSUER, outbound);
    enabled.push(
      genericOidcMethod(oidcIssuer, {
        clientId: env.MCP_REGISTRY_OIDC_CLIENT_ID,
        extraClaims: env.MCP_REGISTRY_OIDC_EXTRA_CLAIMS,
        publishPatterns: env.MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS,
        editPatterns: env.MCP_REGISTRY_OIDC_EDIT_PERMISSIONS,
      }),
    );
  }

  const verifyReader = async (token: string, tokens: RegistryTokens): Promise<void> => {
    if (oidcIssuer === undefined) throw unauthorized("Private reads need OIDC to be configured.");
    const issuer = oidcIssuer;
    // Cheap look at the unverified `iss` only to pick the verifier; both paths verify fully.
    if (unverifiedIssuer(token) === env.MCP_REGISTRY_JWT_ISSUER) {
      const claims = await tokens.verify(token);
      if (claims.auth_method !== "oidc") {
        throw unauthorized("Reads need an OIDC login; this registry token came from another method.");
      }
      return;
    }
    const claims = await issuer.verify(token, env.MCP_REGISTRY_OIDC_CLIENT_ID, "OIDC token");
    assertExtraClaims(claims, env.MCP_REGISTRY_OIDC_EXTRA_CLAIMS, "OIDC token");
  };

  return { enabled, verifyReader };
}

function unverifiedIssuer(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: unknown };
    return typeof parsed.iss === "string" ? parsed.iss : undefined;
  } catch {
    return undefined;
  }
}

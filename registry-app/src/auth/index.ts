import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { ProblemError } from "../errors";
import { parseStorableJson } from "../schema/storable";
import type { AuthEnv } from "./env";
import { createLoginMethods, type LoginMethod } from "./methods";
import { assertNotBlocked } from "./permissions";
import { RateLimiter } from "./rate-limit";
import { bearerToken, RegistryTokens } from "./tokens";
import type { AuthDeps, RegistryClaims, RegistryPermission, TokenResponse } from "./types";

export { authEnv, type AuthEnv, type ExtraClaims } from "./env";
export { authSchemas } from "./schemas";
export { generateSigningKeyHex, parseSigningKey } from "./keys";
export { assertAdministrator, assertCanEdit, assertCanPublish, patternMatches } from "./permissions";
export type { AuthDeps, RegistryClaims, RegistryPermission, TokenResponse } from "./types";

export interface Auth {
  /** Registers POST {prefix}/auth/* routes; core calls it for "/v0" and "/v0.1". */
  registerRoutes(app: FastifyInstance, prefix: string): void;
  /** Verifies an `Authorization: Bearer <registry token>` header. Throws ProblemError 401 if absent/invalid. */
  authenticate(authorization: string | undefined): Promise<RegistryClaims>;
  /** preHandler for read routes: no-op unless MCP_REGISTRY_READ_AUTH=oidc. */
  readGuard: preHandlerAsyncHookHandler;
  /** preHandler enforcing the per-client-IP rate limit on POST /publish (429 + Retry-After). */
  publishRateLimit: preHandlerAsyncHookHandler;
  /** Mints a registry token; used by /auth/* and by tests/tools. */
  issueToken(method: string, subject: string, permissions: RegistryPermission[]): Promise<TokenResponse>;
  /** GitHub OAuth client id for GET /health (may be ""). */
  githubClientId: string;
  /** Paths of the login routes this configuration serves under {prefix}/auth/ (the catalogue lists them). */
  loginMethods: string[];
}

/** Checks the rules that span several variables (zod's per-key shape cannot, once core merges it). */
function checkCrossFieldRules(env: AuthEnv): void {
  const problems: string[] = [];
  if (env.MCP_REGISTRY_OIDC_ENABLED) {
    if (env.MCP_REGISTRY_OIDC_ISSUER === "") {
      problems.push("MCP_REGISTRY_OIDC_ISSUER: required when MCP_REGISTRY_OIDC_ENABLED=true (https:// URL)");
    }
    if (env.MCP_REGISTRY_OIDC_CLIENT_ID === "") {
      problems.push("MCP_REGISTRY_OIDC_CLIENT_ID: required when MCP_REGISTRY_OIDC_ENABLED=true");
    }
  }
  if (env.MCP_REGISTRY_READ_AUTH === "oidc" && !env.MCP_REGISTRY_OIDC_ENABLED) {
    problems.push(
      "MCP_REGISTRY_READ_AUTH: 'oidc' needs MCP_REGISTRY_OIDC_ENABLED=true and its issuer/client id",
    );
  }
  const kubernetes = env.MCP_REGISTRY_KUBERNETES_ISSUER !== "";
  if (kubernetes !== env.MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS.length > 0) {
    problems.push(
      "MCP_REGISTRY_KUBERNETES_ISSUER and MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS: set both (or neither) for /auth/kubernetes",
    );
  }
  if (
    !kubernetes &&
    (env.MCP_REGISTRY_KUBERNETES_DISCOVERY_URL !== "" || env.MCP_REGISTRY_KUBERNETES_CA_FILE !== "")
  ) {
    problems.push("MCP_REGISTRY_KUBERNETES_DISCOVERY_URL and _CA_FILE: need MCP_REGISTRY_KUBERNETES_ISSUER");
  }
  if (problems.length > 0) throw new Error(`Invalid auth configuration:\n${problems.join("\n")}`);
}

function clientIp(request: FastifyRequest): string {
  return request.ip || request.socket.remoteAddress || "unknown";
}

/** Parses JSON bodies of /auth/*; an empty body counts as {} (mcp-publisher's `login none`). */
function parseJsonBody(body: string): unknown {
  if (body.trim() === "") return {};
  try {
    return JSON.parse(body, (key, value: unknown) => {
      // Same stance as Fastify's default parser: prototype-poisoning keys are refused outright.
      if (key === "__proto__") throw new SyntaxError("forbidden key");
      return value;
    }) as unknown;
  } catch {
    throw new ProblemError(400, "Bad Request", "The request body is not valid JSON.");
  }
}

export async function createAuth(env: AuthEnv, deps: AuthDeps = {}): Promise<Auth> {
  checkCrossFieldRules(env);
  const now = deps.now ?? Date.now;
  const tokens = new RegistryTokens(
    env.MCP_REGISTRY_JWT_PRIVATE_KEY,
    env.MCP_REGISTRY_JWT_ISSUER,
    env.MCP_REGISTRY_TOKEN_TTL_SECONDS,
    now,
  );
  const authLimiter = new RateLimiter(env.MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE, now, "auth");
  const publishLimiter = new RateLimiter(env.MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE, now, "publish");
  const blocked = env.MCP_REGISTRY_BLOCKED_NAMESPACES;
  const methods = createLoginMethods(env, { ...deps, now });

  const issueToken = async (method: string, subject: string, permissions: RegistryPermission[]) => {
    assertNotBlocked(permissions, blocked);
    return tokens.issue(method, subject, permissions);
  };

  const authenticate = async (authorization: string | undefined): Promise<RegistryClaims> => {
    const claims = await tokens.authenticate(authorization);
    // A namespace blocked after the token was minted stops working at once.
    assertNotBlocked(claims.permissions, blocked);
    return claims;
  };

  const readGuard: preHandlerAsyncHookHandler = async (request) => {
    if (env.MCP_REGISTRY_READ_AUTH !== "oidc") return;
    const token = bearerToken(request.headers.authorization);
    await methods.verifyReader(token, tokens);
  };

  const publishRateLimit: preHandlerAsyncHookHandler = async (request) => {
    publishLimiter.hit(clientIp(request));
  };

  const registerRoutes = (app: FastifyInstance, prefix: string): void => {
    void app.register(
      async (scope) => {
        // Own JSON parser in this scope only: accepts the empty body some clients send. Strict UTF-8
        // and storable values, as on every other route.
        scope.removeContentTypeParser("application/json");
        scope.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
          try {
            done(null, parseStorableJson(body as Buffer, parseJsonBody));
          } catch (error) {
            done(error as Error, undefined);
          }
        });
        scope.addHook("onRequest", async (request) => {
          authLimiter.hit(clientIp(request));
        });
        for (const method of methods.enabled) {
          registerLogin(scope, method);
        }
      },
      { prefix: `${prefix}/auth` },
    );
  };

  const registerLogin = (scope: FastifyInstance, method: LoginMethod): void => {
    scope.post(
      `/${method.path}`,
      { bodyLimit: env.MCP_REGISTRY_AUTH_BODY_LIMIT_BYTES },
      async (request, reply) => {
        const grant = await method.exchange(request.body ?? {});
        const token = await issueToken(grant.method, grant.subject, grant.permissions);
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        void reply.header("cache-control", "no-store");
        return token;
      },
    );
  };

  return {
    registerRoutes,
    authenticate,
    readGuard,
    publishRateLimit,
    issueToken,
    githubClientId: env.MCP_REGISTRY_GITHUB_CLIENT_ID,
    loginMethods: methods.enabled.map((method) => method.path),
  };
}

import Fastify, { type FastifyInstance } from "fastify";
import { ProblemError } from "../../src/errors";
import {
  authEnv,
  createAuth,
  generateSigningKeyHex,
  type Auth,
  type AuthDeps,
  type AuthEnv,
} from "../../src/auth";

/** Parses an auth env with a fresh signing key unless the test gives one. */
export function testEnv(vars: Record<string, string> = {}): AuthEnv {
  return authEnv.parse({ MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(), ...vars });
}

/**
 * A minimal Fastify app standing in for core's http layer in auth unit tests: it renders ProblemError
 * (and Fastify's own errors such as 413) as problem+json, the way core's error handler does.
 */
export async function authApp(
  env: AuthEnv,
  deps: AuthDeps = {},
): Promise<{ app: FastifyInstance; auth: Auth }> {
  const auth = await createAuth(env, deps);
  const app = Fastify({ logger: false });
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ProblemError) {
      void reply
        .status(error.status)
        .headers(error.headers)
        .type("application/problem+json")
        .send({ title: error.title, status: error.status, detail: error.detail, errors: error.errors });
      return;
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    void reply
      .status(status)
      .type("application/problem+json")
      .send({ title: "Error", status, detail: status >= 500 ? "internal error" : (error as Error).message });
  });
  auth.registerRoutes(app, "/v0");
  auth.registerRoutes(app, "/v0.1");
  app.get("/v0/whoami", async (request) => auth.authenticate(request.headers.authorization));
  app.get("/v0/servers", { preHandler: auth.readGuard }, async () => ({ servers: [] }));
  app.post("/v0/publish", { preHandler: auth.publishRateLimit }, async () => ({ ok: true }));
  await app.ready();
  return { app, auth };
}

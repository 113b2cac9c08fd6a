import type { FastifyInstance } from "fastify";
import { LSN_HEADER } from "./consistency";
import { sendProblem, titleFor } from "./problem";

/**
 * CORS as the official registry allows it: any origin, no credentials (tokens are bearer tokens in
 * Authorization, never cookies), and per route the methods that route has, so a browser-based
 * publisher or validator can POST, PUT and PATCH where the API takes them.
 */
const API = String.raw`^/v0(?:\.1)?`;
const SEGMENT = "[^/]+";

/** Methods by path, most specific first; every other path is read-only. */
const ROUTE_METHODS: Array<[RegExp, readonly string[]]> = [
  [new RegExp(`${API}/(?:publish|validate)$`), ["POST"]],
  [new RegExp(`${API}/auth/${SEGMENT}$`), ["POST"]],
  [new RegExp(`${API}/servers/${SEGMENT}/versions/${SEGMENT}/status$`), ["PATCH"]],
  [new RegExp(`${API}/servers/${SEGMENT}/status$`), ["PATCH"]],
  [new RegExp(`${API}/servers/${SEGMENT}/versions/${SEGMENT}$`), ["GET", "HEAD", "PUT"]],
  [new RegExp(`${API}/servers/${SEGMENT}/classification$`), ["GET", "HEAD", "PUT"]],
];
const READ_METHODS = ["GET", "HEAD"] as const;

/** Request headers a cross-origin caller may send. */
export const CORS_ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "If-None-Match",
  "X-Request-Id",
  "MCP-Registry-LSN",
] as const;
const ALLOWED_HEADERS = new Set(CORS_ALLOWED_HEADERS.map((header) => header.toLowerCase()));
const EXPOSED_HEADERS = `x-request-id, retry-after, etag, ${LSN_HEADER}`;

/** The methods a path takes, OPTIONS aside. */
export function corsMethods(path: string): readonly string[] {
  return ROUTE_METHODS.find(([pattern]) => pattern.test(path))?.[1] ?? READ_METHODS;
}

export function registerCors(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply) => {
    if (request.method !== "OPTIONS") {
      void reply.header("access-control-allow-origin", "*");
      void reply.header("access-control-expose-headers", EXPOSED_HEADERS);
    }
  });

  app.options("*", async (request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    const methods = [...corsMethods(path), "OPTIONS"];
    void reply.header("allow", methods.join(", "));
    const asked = request.headers["access-control-request-method"];
    // Not a preflight: the methods of the path, nothing more.
    if (typeof asked !== "string") return reply.code(204).send();
    const method = asked.trim().toUpperCase();
    const headers = String(request.headers["access-control-request-headers"] ?? "")
      .split(",")
      .map((header) => header.trim().toLowerCase())
      .filter((header) => header !== "");
    const refusedHeaders = headers.filter((header) => !ALLOWED_HEADERS.has(header));
    if (!methods.includes(method) || refusedHeaders.length > 0) {
      const problems = [
        ...(methods.includes(method) ? [] : [`method ${method} (this path takes ${methods.join(", ")})`]),
        ...(refusedHeaders.length === 0
          ? []
          : [`header ${refusedHeaders.join(", ")} (allowed: ${CORS_ALLOWED_HEADERS.join(", ")})`]),
      ];
      return sendProblem(reply, {
        title: titleFor(403),
        status: 403,
        detail: `Cross-origin request refused: ${problems.join("; ")}.`,
      });
    }
    return reply
      .code(204)
      .header("access-control-allow-origin", "*")
      .header("access-control-allow-methods", methods.join(", "))
      .header("access-control-allow-headers", CORS_ALLOWED_HEADERS.join(", "))
      .header("access-control-max-age", "86400")
      .send();
  });
}

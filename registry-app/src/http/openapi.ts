import { z } from "zod";
import { validationResultSchema } from "../schema";
import {
  attributeQuerySchema,
  categoryListSchema,
  classificationUpdateSchema,
  classificationViewSchema,
} from "./classification-schemas";
import {
  allVersionsStatusResponseSchema,
  authSchemas,
  healthSchema,
  includeDeletedQuerySchema,
  listQuerySchema,
  pingSchema,
  probeSchema,
  problemSchema,
  serverJsonSchema,
  serverListSchema,
  serverResponseSchema,
  statusUpdateRequestSchema,
  validationProblemSchema,
  versionSchema,
} from "./schemas";

type JsonObject = Record<string, unknown>;

const REF = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Every named schema of the API; z.toJSONSchema turns references between them into $refs. */
function componentSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  registry.add(serverJsonSchema, { id: "ServerDetail" });
  registry.add(serverResponseSchema, { id: "ServerResponse" });
  registry.add(serverListSchema, { id: "ServerList" });
  registry.add(statusUpdateRequestSchema, { id: "StatusUpdateRequest" });
  registry.add(allVersionsStatusResponseSchema, { id: "AllVersionsStatusResponse" });
  registry.add(validationResultSchema, { id: "ValidationResult" });
  registry.add(categoryListSchema, { id: "CategoryList" });
  registry.add(classificationUpdateSchema, { id: "ClassificationUpdate" });
  registry.add(classificationViewSchema, { id: "Classification" });
  registry.add(problemSchema, { id: "Problem" });
  registry.add(validationProblemSchema, { id: "ValidationProblem" });
  registry.add(healthSchema, { id: "Health" });
  registry.add(pingSchema, { id: "Ping" });
  registry.add(versionSchema, { id: "Version" });
  registry.add(probeSchema, { id: "Probe" });
  registry.add(authSchemas.tokenResponse, { id: "TokenResponse" });
  for (const [method, schema] of Object.entries(authSchemas.requests)) {
    registry.add(schema, { id: `AuthRequest_${method.replace(/-/g, "_")}` });
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonObject;
    out[id] = rest;
  }
  return out;
}

/** Query parameters of a zod object, one OpenAPI parameter per key. */
function queryParameters(schema: z.ZodObject): JsonObject[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const json = z.toJSONSchema(field as z.ZodType, { io: "input", unrepresentable: "any" }) as JsonObject;
    const { $schema: _dialect, description, ...rest } = json;
    return { name, in: "query", required: false, description, schema: rest };
  });
}

const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});

const SERVER_NAME = pathParam("serverName", 'URL-encoded server name, e.g. "io.github.acme%2Fweather"');
const VERSION = pathParam("version", 'URL-encoded version, or "latest"');

const json = (schema: JsonObject) => ({ "application/json": { schema } });

function ok(description: string, schema: JsonObject): JsonObject {
  return { description, content: json(schema) };
}

function problems(...statuses: number[]): Record<string, JsonObject> {
  const meaning: Record<number, string> = {
    400: "Bad request (the errors name each bad field)",
    401: "Missing, invalid or expired registry token",
    403: "The token does not allow this name",
    404: "Not found",
    409: "Conflicts with what the registry holds (duplicate version, remote URL of another name, version cap)",
    413: "Request body too large",
    422: "The server.json is invalid, or a package's ownership is not proven (call /validate for every finding)",
    429: "Rate limited; see Retry-After",
    502: "An identity provider could not be reached, or a package registry's answer cannot be used",
    501: "Not implemented by this registry",
    503: "Service unavailable (database or package registry down, or shutting down); see Retry-After",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: meaning[status] ?? "Error",
        content: { "application/problem+json": { schema: REF("Problem") } },
      },
    ]),
  );
}

const bearer = [{ bearerAuth: [] }];
const body = (schema: JsonObject) => ({ required: true, content: json(schema) });

/** The OpenAPI 3.1 document of this registry, generated from the zod schemas the routes use. */
export function buildOpenApiDocument(version: string): JsonObject {
  const includeDeleted = queryParameters(includeDeletedQuerySchema);
  const paths: Record<string, JsonObject> = {
    "/v0.1/servers": {
      get: {
        tags: ["servers"],
        summary: "List server versions",
        description:
          "Stable order by (name, version), or by relevance when `search` is given. `nextCursor` is present only when more results follow; a cursor is bound to the filters of the request that returned it. `category`, `tag`, `registry_type`, `transport` and `status` match any of their values and every given filter must match. `facets` adds `metadata.facets` and `metadata.totalCount`.",
        parameters: [...queryParameters(listQuerySchema), ...queryParameters(attributeQuerySchema)],
        responses: { "200": ok("A page of server versions", REF("ServerList")), ...problems(400, 401, 503) },
      },
    },
    "/v0.1/servers/{serverName}/versions": {
      get: {
        tags: ["servers"],
        summary: "List the versions of a server, newest first",
        parameters: [SERVER_NAME, ...includeDeleted],
        responses: { "200": ok("Versions", REF("ServerList")), ...problems(400, 401, 404, 503) },
      },
    },
    "/v0.1/servers/{serverName}/versions/{version}": {
      get: {
        tags: ["servers"],
        summary: "Get one version (or the latest)",
        parameters: [SERVER_NAME, VERSION, ...includeDeleted],
        responses: {
          "200": ok("The server version", REF("ServerResponse")),
          ...problems(400, 401, 404, 503),
        },
      },
      put: {
        tags: ["publish"],
        summary: "Replace the document of an existing version",
        description: "Needs edit permission, or publish permission on the name. Renames are refused.",
        security: bearer,
        parameters: [SERVER_NAME, VERSION],
        requestBody: body(REF("ServerDetail")),
        responses: {
          "200": ok("The updated version", REF("ServerResponse")),
          ...problems(400, 401, 403, 404, 409, 413, 422, 502, 503),
        },
      },
      delete: {
        tags: ["publish"],
        summary: "Not supported: versions are never removed (set status deleted instead)",
        parameters: [SERVER_NAME, VERSION],
        responses: problems(501),
      },
    },
    "/v0.1/servers/{serverName}/versions/{version}/status": {
      patch: {
        tags: ["publish"],
        summary: "Change the status of one version",
        security: bearer,
        parameters: [SERVER_NAME, VERSION],
        requestBody: body(REF("StatusUpdateRequest")),
        responses: { "200": ok("The version", REF("ServerResponse")), ...problems(400, 401, 403, 404, 503) },
      },
    },
    "/v0.1/servers/{serverName}/status": {
      patch: {
        tags: ["publish"],
        summary: "Change the status of every version, in one transaction",
        security: bearer,
        parameters: [SERVER_NAME],
        requestBody: body(REF("StatusUpdateRequest")),
        responses: {
          "200": ok("The changed versions", REF("AllVersionsStatusResponse")),
          ...problems(400, 401, 403, 404, 503),
        },
      },
    },
    "/v0.1/servers/{serverName}/classification": {
      get: {
        tags: ["servers"],
        summary: "Categories and tags an administrator set for a server name, and their audit trail",
        parameters: [SERVER_NAME],
        responses: {
          "200": ok("The override and its audit", REF("Classification")),
          ...problems(401, 404, 503),
        },
      },
      put: {
        tags: ["publish"],
        summary: "Set or clear the categories and tags of every version of a server name (administrators)",
        description:
          "Needs a token with a `*` permission. A list replaces the publisher's values of every version, present and future; null or absent keeps them; `{}` removes the override. Every change is audited.",
        security: bearer,
        parameters: [SERVER_NAME],
        requestBody: body(REF("ClassificationUpdate")),
        responses: {
          "200": ok("The override and its audit", REF("Classification")),
          ...problems(400, 401, 403, 404, 413, 503),
        },
      },
    },
    "/v0.1/categories": {
      get: {
        tags: ["servers"],
        summary: "The taxonomy: category ids publishers may declare and filters may name",
        responses: { "200": ok("Categories", REF("CategoryList")), ...problems(401) },
      },
    },
    "/v0.1/publish": {
      post: {
        tags: ["publish"],
        summary: "Publish a new server version",
        security: bearer,
        requestBody: body(REF("ServerDetail")),
        responses: {
          "200": ok("The stored version", REF("ServerResponse")),
          ...problems(400, 401, 403, 409, 413, 422, 429, 502, 503),
        },
      },
    },
    "/v0.1/validate": {
      post: {
        tags: ["publish"],
        summary: "Validate a server.json without publishing it",
        requestBody: body(REF("ServerDetail")),
        responses: {
          "200": ok("Findings", REF("ValidationResult")),
          ...problems(400, 413, 503),
          "400": {
            description: "Bad request; values the registry cannot store are also listed as `issues`",
            content: { "application/problem+json": { schema: REF("ValidationProblem") } },
          },
        },
      },
    },
  };
  for (const method of Object.keys(authSchemas.requests)) {
    paths[`/v0.1/auth/${method}`] = {
      post: {
        tags: ["auth"],
        summary: `Exchange ${method} credentials for a registry token`,
        description:
          method === "none"
            ? "Only when MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH=true."
            : method === "oidc"
              ? "Only when MCP_REGISTRY_OIDC_ENABLED=true."
              : undefined,
        requestBody: body(REF(`AuthRequest_${method.replace(/-/g, "_")}`)),
        responses: {
          "200": ok("A registry token", REF("TokenResponse")),
          ...problems(400, 401, 403, 429, 502),
        },
      },
    };
  }
  const info = (summary: string, schema: JsonObject, tag = "operations") => ({
    get: { tags: [tag], summary, responses: { "200": ok(summary, schema) } },
  });
  paths["/v0.1/health"] = info("Health and the GitHub OAuth client id", REF("Health"));
  paths["/v0.1/ping"] = info("Ping", REF("Ping"));
  paths["/v0.1/version"] = info("Build version, commit and time", REF("Version"));
  paths["/livez"] = info("Liveness (never touches the database)", REF("Probe"));
  paths["/readyz"] = {
    get: {
      tags: ["operations"],
      summary: "Readiness: 503 while the database is unreachable or the process drains",
      responses: { "200": ok("Ready", REF("Probe")), ...problems(503) },
    },
  };
  paths["/metrics"] = {
    get: {
      tags: ["operations"],
      summary: "Prometheus metrics",
      responses: {
        "200": {
          description: "Text exposition format",
          content: { "text/plain": { schema: { type: "string" } } },
        },
      },
    },
  };
  paths["/openapi.json"] = info("This document", { type: "object" });
  paths["/openapi.yaml"] = {
    get: {
      tags: ["operations"],
      summary: "This document as YAML",
      responses: {
        "200": { description: "YAML", content: { "application/yaml": { schema: { type: "object" } } } },
      },
    },
  };
  paths["/docs"] = {
    get: {
      tags: ["operations"],
      summary: "A viewer of this document",
      responses: { "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } } },
    },
  };

  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "MCP Server Registry API",
      version,
      summary: "A private MCP server registry, API-compatible with the official registry",
      description:
        "Every /v0.1 path is also served under /v0. Errors are RFC 7807 application/problem+json. Any origin may call the API from a browser (CORS, without credentials: tokens are bearer tokens).",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    tags: [
      { name: "servers", description: "Discover server versions" },
      { name: "publish", description: "Publish, edit and change the status of server versions" },
      { name: "auth", description: "Exchange publisher credentials for registry tokens" },
      { name: "operations", description: "Health, probes, metrics and documentation" },
    ],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: componentSchemas(),
    },
  };
}

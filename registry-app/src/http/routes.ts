import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Auth } from "../auth";
import { ProblemError } from "../errors";
import type { RegistryService } from "../service";
import type { Metrics } from "./metrics";
import { bulkStatusJson, entryJson, listJson } from "./serialize";
import {
  includeDeletedQuerySchema,
  listQuerySchema,
  parseOrThrow,
  singleValues,
  statusUpdateRequestSchema,
} from "./schemas";

export interface ApiDeps {
  service: RegistryService;
  auth: Auth;
  metrics: Metrics;
}

interface NameParams {
  serverName: string;
}
interface VersionParams extends NameParams {
  version: string;
}

const JSON_TYPE = "application/json; charset=utf-8";

function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type(JSON_TYPE).send(json);
}

function includeDeleted(request: FastifyRequest): boolean {
  return (
    parseOrThrow(includeDeletedQuerySchema, singleValues(request.query), "query").include_deleted === "true"
  );
}

/** The registry API of one prefix (/v0 or /v0.1). Handlers parse, call the service, and serialise. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { service, auth, metrics } = deps;
  const read = { preHandler: auth.readGuard };

  app.get("/servers", read, async (request, reply) => {
    const query = parseOrThrow(listQuerySchema, singleValues(request.query), "query");
    const page = await service.list({
      cursor: query.cursor,
      limit: query.limit ?? 30,
      search: query.search,
      updatedSince: query.updated_since === undefined ? undefined : new Date(query.updated_since),
      version: query.version,
      includeDeleted: query.include_deleted === "true",
    });
    return sendJson(reply, listJson(page.entries, page.nextCursor));
  });

  app.get<{ Params: NameParams }>("/servers/:serverName/versions", read, async (request, reply) => {
    const rows = await service.versions(request.params.serverName, includeDeleted(request));
    return sendJson(reply, listJson(rows, undefined));
  });

  app.get<{ Params: VersionParams }>(
    "/servers/:serverName/versions/:version",
    read,
    async (request, reply) => {
      const { serverName, version } = request.params;
      return sendJson(reply, entryJson(await service.get(serverName, version, includeDeleted(request))));
    },
  );

  app.put<{ Params: VersionParams }>("/servers/:serverName/versions/:version", async (request, reply) => {
    const caller = await auth.authenticate(request.headers.authorization);
    const { serverName, version } = request.params;
    return sendJson(reply, entryJson(await service.edit(caller, serverName, version, request.body)));
  });

  // The spec's optional DELETE: versions are never removed here, deletion is a status.
  app.delete("/servers/:serverName/versions/:version", async () => {
    throw new ProblemError(
      501,
      "Not Implemented",
      'Versions are never removed from this registry; PATCH .../versions/{version}/status with {"status":"deleted"} instead.',
    );
  });

  app.patch<{ Params: VersionParams }>(
    "/servers/:serverName/versions/:version/status",
    async (request, reply) => {
      const caller = await auth.authenticate(request.headers.authorization);
      const change = parseOrThrow(statusUpdateRequestSchema, request.body, "body");
      const { serverName, version } = request.params;
      return sendJson(reply, entryJson(await service.setStatus(caller, serverName, version, change)));
    },
  );

  app.patch<{ Params: NameParams }>("/servers/:serverName/status", async (request, reply) => {
    const caller = await auth.authenticate(request.headers.authorization);
    const change = parseOrThrow(statusUpdateRequestSchema, request.body, "body");
    const result = await service.setStatusAll(caller, request.params.serverName, change);
    return sendJson(reply, bulkStatusJson(result.updatedCount, result.servers));
  });

  app.post("/publish", { preHandler: auth.publishRateLimit }, async (request, reply) => {
    try {
      const caller = await auth.authenticate(request.headers.authorization);
      const stored = await service.publish(caller, request.body);
      metrics.publishes.inc({ outcome: "success" });
      return sendJson(reply, entryJson(stored));
    } catch (error) {
      const clientError = error instanceof ProblemError && error.status < 500;
      metrics.publishes.inc({ outcome: clientError ? "rejected" : "error" });
      throw error;
    }
  });

  app.post("/validate", read, async (request) => service.validate(request.body));
}

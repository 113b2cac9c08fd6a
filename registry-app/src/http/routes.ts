import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Auth } from "../auth";
import { ProblemError } from "../errors";
import type { RegistryService, WrittenVersion } from "../service";
import type { Metrics } from "./metrics";
import { attributeFilter, parseAttributeQuery } from "./classification-schemas";
import { LSN_HEADER, readAfterHeader } from "./consistency";
import { ifNoneMatchHits, type ProducedAnswer, type ReadCache } from "./read-cache";
import { bulkStatusJson, entryJson, listBody } from "./serialize";
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
  readCache: ReadCache;
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

/**
 * A read answered through the cache, with its ETag; 304 without a body when If-None-Match names it.
 * no-cache: clients may keep the answer but must revalidate it, which costs them a 304 at most.
 * `name`: the server name the answer depends on alone (undefined: lists and searches, every name).
 */
async function sendRead(
  cache: ReadCache,
  request: FastifyRequest,
  reply: FastifyReply,
  read: { key: string; name?: string; atLeast?: string },
  produce: () => Promise<ProducedAnswer>,
): Promise<FastifyReply> {
  const { body, etag } = await cache.get(read.key, read.name, produce, read.atLeast);
  void reply.header("etag", etag).header("cache-control", "no-cache");
  if (ifNoneMatchHits(request.headers["if-none-match"], etag)) return reply.code(304).send();
  return reply.type(JSON_TYPE).send(body);
}

/** A committed write's answer, with the WAL position a client's later reads may ask to reach. */
async function sendWritten(
  service: RegistryService,
  reply: FastifyReply,
  json: string,
): Promise<FastifyReply> {
  if (service.readsFromStandby) void reply.header(LSN_HEADER, await service.writePosition());
  return sendJson(reply, json);
}

/** Cache keys: the parsed parameters of a read (the same for /v0 and /v0.1), NUL-separated. */
function readKey(...parts: Array<string | number | boolean | undefined>): string {
  return parts.map((part) => (part === undefined ? "" : String(part))).join("\0");
}

function includeDeleted(request: FastifyRequest): boolean {
  return (
    parseOrThrow(includeDeletedQuerySchema, singleValues(request.query), "query").include_deleted === true
  );
}

/** The registry API of one prefix (/v0 or /v0.1). Handlers parse, call the service, and serialise. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { service, auth, metrics, readCache } = deps;
  const { taxonomy } = service;
  const read = { preHandler: auth.readGuard };
  /** How a read runs: no older than the client's own write when it names one, tagged when cached. */
  const readOptions = (request: FastifyRequest) => ({
    atLeast: readAfterHeader(request.headers[LSN_HEADER]),
    tagged: readCache.enabled,
  });

  app.get("/servers", read, async (request, reply) => {
    const query = parseOrThrow(listQuerySchema, singleValues(request.query), "query");
    const narrowing = parseAttributeQuery(request.query);
    const list = {
      cursor: query.cursor,
      limit: query.limit ?? 30,
      search: query.search,
      updatedSince: query.updated_since === undefined ? undefined : new Date(query.updated_since),
      version: query.version,
      includeDeleted: query.include_deleted === true,
      attributes: attributeFilter(narrowing),
      facets: narrowing.facets,
    };
    const key = readKey(
      "list",
      list.cursor,
      list.limit,
      list.search,
      list.updatedSince?.getTime(),
      list.version,
      list.includeDeleted,
      JSON.stringify(narrowing),
    );
    const options = readOptions(request);
    return sendRead(readCache, request, reply, { key, atLeast: options.atLeast }, async () => {
      const page = await service.list(list, options);
      return {
        json: listBody(page.entries, page.nextCursor, taxonomy, page.facets),
        generation: page.generation,
      };
    });
  });

  app.get<{ Params: NameParams }>("/servers/:serverName/versions", read, async (request, reply) => {
    const name = request.params.serverName;
    const deleted = includeDeleted(request);
    const options = readOptions(request);
    const key = readKey("versions", name, deleted);
    return sendRead(readCache, request, reply, { key, name, atLeast: options.atLeast }, async () => {
      const { rows, generation } = await service.versions(name, deleted, options);
      return { json: listBody(rows, undefined, taxonomy), generation };
    });
  });

  app.get<{ Params: VersionParams }>(
    "/servers/:serverName/versions/:version",
    read,
    async (request, reply) => {
      const { serverName, version } = request.params;
      const deleted = includeDeleted(request);
      const options = readOptions(request);
      const key = readKey("version", serverName, version, deleted);
      return sendRead(
        readCache,
        request,
        reply,
        { key, name: serverName, atLeast: options.atLeast },
        async () => {
          const { entry, generation } = await service.get(serverName, version, deleted, options);
          return { json: entryJson(entry, taxonomy), generation };
        },
      );
    },
  );

  app.put<{ Params: VersionParams }>("/servers/:serverName/versions/:version", async (request, reply) => {
    const caller = await auth.authenticate(request.headers.authorization);
    const { serverName, version } = request.params;
    const edited = await service.edit(caller, serverName, version, request.body);
    return sendWritten(service, reply, entryJson(edited, taxonomy, edited.warnings));
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
      const changed = await service.setStatus(caller, serverName, version, change);
      return sendWritten(service, reply, entryJson(changed, taxonomy));
    },
  );

  app.patch<{ Params: NameParams }>("/servers/:serverName/status", async (request, reply) => {
    const caller = await auth.authenticate(request.headers.authorization);
    const change = parseOrThrow(statusUpdateRequestSchema, request.body, "body");
    const result = await service.setStatusAll(caller, request.params.serverName, change);
    return sendWritten(service, reply, bulkStatusJson(result.updatedCount, result.servers, taxonomy));
  });

  app.post("/publish", { preHandler: auth.publishRateLimit }, async (request, reply) => {
    let stored: WrittenVersion;
    try {
      const caller = await auth.authenticate(request.headers.authorization);
      stored = await service.classified(await service.publish(caller, request.body));
    } catch (error) {
      const clientError = error instanceof ProblemError && error.status < 500;
      metrics.publishes.inc({ outcome: clientError ? "rejected" : "error" });
      throw error;
    }
    metrics.publishes.inc({ outcome: "success" });
    return sendWritten(service, reply, entryJson(stored, taxonomy, stored.warnings));
  });

  app.post("/validate", read, async (request) => service.validate(request.body));
}

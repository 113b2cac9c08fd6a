import type { FastifyInstance, FastifyReply } from "fastify";
import type { Auth } from "../auth";
import type { ClassificationService, RegistryService } from "../service";
import { classificationUpdateSchema } from "./classification-schemas";
import { LSN_HEADER } from "./consistency";
import { parseOrThrow } from "./schemas";

export interface ClassificationDeps {
  classifications: ClassificationService;
  auth: Auth;
  /** Where an override's write ends in the WAL, for reads from a standby (MCP-Registry-LSN). */
  service: Pick<RegistryService, "readsFromStandby" | "writePosition">;
}

interface NameParams {
  serverName: string;
}

const JSON_TYPE = "application/json; charset=utf-8";

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type(JSON_TYPE).send(JSON.stringify(body));
}

/** The taxonomy, and administrators' categories and tags per server name (one prefix: /v0 or /v0.1). */
export function registerClassificationRoutes(app: FastifyInstance, deps: ClassificationDeps): void {
  const { classifications, auth, service } = deps;
  const read = { preHandler: auth.readGuard };
  // The taxonomy is fixed for the life of the process.
  const categoriesJson = JSON.stringify({ categories: classifications.categories() });

  app.get("/categories", read, async (_request, reply) => reply.type(JSON_TYPE).send(categoriesJson));

  app.get<{ Params: NameParams }>("/servers/:serverName/classification", read, async (request, reply) =>
    sendJson(reply, await classifications.get(request.params.serverName)),
  );

  app.put<{ Params: NameParams }>("/servers/:serverName/classification", async (request, reply) => {
    const caller = await auth.authenticate(request.headers.authorization);
    const update = parseOrThrow(classificationUpdateSchema, request.body, "body");
    const result = await classifications.set(caller, request.params.serverName, update);
    // Like every write: the client's next reads may name this position to see the override.
    if (service.readsFromStandby) void reply.header(LSN_HEADER, await service.writePosition());
    return sendJson(reply, result);
  });
}

import type { FastifyInstance, FastifyRequest } from "fastify";
import { parseStorableJson } from "../schema/storable";

/**
 * The one JSON body parser of the API: the raw bytes must be UTF-8 (no silent U+FFFD), Fastify's own
 * JSON rules apply (empty body, prototype poisoning, BOM), and no string, key or number may hold a
 * value PostgreSQL cannot keep exactly. Every failure is a 400 naming the body location.
 */
export function registerStrictJsonParser(app: FastifyInstance): void {
  const fastifyJson = app.getDefaultJsonParser("error", "error");
  const parse = (request: FastifyRequest, text: string): unknown => {
    let outcome: { error: Error | null; value: unknown } | undefined;
    fastifyJson(request, text, (error, value) => {
      outcome = { error, value };
    });
    // Fastify's default parser completes synchronously; anything else would be a Fastify change.
    if (outcome === undefined) throw new Error("the default JSON parser did not complete synchronously");
    if (outcome.error !== null) throw outcome.error;
    return outcome.value;
  };
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    try {
      done(
        null,
        parseStorableJson(body as Buffer, (text) => parse(request, text)),
      );
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

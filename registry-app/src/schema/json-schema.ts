import { z } from "zod";
import { serverJsonSchema } from "./server-json";

let cached: Record<string, unknown> | undefined;

/**
 * The request-body JSON Schema of server.json as our zod schema states it (draft 2020-12, the dialect
 * of OpenAPI 3.1), for the generated OpenAPI document. Registry rules that JSON Schema cannot express
 * (ranges, placeholders, _meta size) are enforced by validateServerJson only.
 */
export function serverJsonJsonSchema(): Record<string, unknown> {
  cached ??= z.toJSONSchema(serverJsonSchema, { io: "input", target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  return structuredClone(cached);
}

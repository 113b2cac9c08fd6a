// Shapes of the API answers the page reads, taken from the service's own zod schemas (type-only imports:
// nothing of zod reaches the bundle).
import type { z } from "zod";
import type { categoryListSchema } from "../src/http/classification-schemas";
import type { problemSchema, serverListSchema, serverResponseSchema } from "../src/http/schemas";

export type { CatalogueSettings } from "../src/web/settings";
export type { RemoteTransport, ServerJson, ServerPackage } from "../src/schema/server-json";

export type ServerResponse = z.output<typeof serverResponseSchema>;
export type ServerList = z.output<typeof serverListSchema>;
export type Problem = z.output<typeof problemSchema>;
export type OfficialMeta = ServerResponse["_meta"]["io.modelcontextprotocol.registry/official"];
export type Status = OfficialMeta["status"];
export type CategoryList = z.output<typeof categoryListSchema>;

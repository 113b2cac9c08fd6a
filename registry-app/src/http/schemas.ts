import { z } from "zod";
import { authSchemas } from "../auth";
import { ProblemError, type FieldProblem } from "../errors";
import { formatPath, OFFICIAL_META_KEY, serverJsonSchema, validationResultSchema } from "../schema";
import {
  CLASSIFICATION_META_KEY,
  classificationMetaSchema,
  facetsMetadataSchema,
} from "./classification-schemas";

/**
 * Request and response shapes of the HTTP API: the one source for validation, TypeScript types and
 * the generated OpenAPI document.
 */
export const statusSchema = z.enum(["active", "deprecated", "deleted"]);

export const officialMetaSchema = z
  .object({
    status: statusSchema,
    statusMessage: z.string().max(500).optional(),
    statusChangedAt: z.iso.datetime(),
    publishedAt: z.iso.datetime().describe("When this version was first published to the registry"),
    updatedAt: z.iso.datetime().describe("When this entry last changed (document, status or isLatest)"),
    isLatest: z.boolean(),
  })
  .strict();

export const serverResponseSchema = z.object({
  server: serverJsonSchema,
  _meta: z.object({
    [OFFICIAL_META_KEY]: officialMetaSchema,
    [CLASSIFICATION_META_KEY]: classificationMetaSchema.optional(),
  }),
});

export const serverListSchema = z.object({
  servers: z.array(serverResponseSchema),
  metadata: z.object({
    nextCursor: z.string().optional().describe("Present only when more results follow; pass it as `cursor`"),
    count: z.number().int().describe("Number of items in this page"),
    totalCount: z.number().int().optional().describe("Versions on every page (only with `facets`)"),
    facets: facetsMetadataSchema.optional(),
  }),
});

export const statusUpdateRequestSchema = z
  .object({
    status: statusSchema,
    statusMessage: z.string().max(500).optional().describe("Not allowed with status active"),
  })
  .strict();

export const allVersionsStatusResponseSchema = z.object({
  updatedCount: z.number().int(),
  servers: z.array(serverResponseSchema),
});

export const problemSchema = z.object({
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z
    .array(z.object({ location: z.string(), message: z.string(), value: z.unknown().optional() }))
    .optional(),
});

export const healthSchema = z.object({ status: z.literal("ok"), github_client_id: z.string() });
export const pingSchema = z.object({ pong: z.literal(true) });
export const versionSchema = z.object({
  version: z.string(),
  git_commit: z.string(),
  build_time: z.string(),
});
export const probeSchema = z.object({ status: z.enum(["ok", "unavailable", "draining"]) });

const booleanParam = z.enum(["true", "false"], { error: "expected true or false" });

export const listQuerySchema = z
  .object({
    cursor: z
      .string()
      .min(1)
      .max(2048)
      .optional()
      .describe("Opaque; metadata.nextCursor of the previous page"),
    limit: z
      .string()
      .regex(/^\d{1,4}$/, "expected an integer from 1 to 100")
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(1, "expected an integer from 1 to 100")
          .max(100, "expected an integer from 1 to 100"),
      )
      .optional()
      .describe("Page size, 1..100 (default 30)"),
    search: z.string().max(200).optional().describe("Ranked search over names, titles and descriptions"),
    updated_since: z.iso
      .datetime({ offset: true, error: "expected an RFC 3339 timestamp such as 2025-08-07T13:15:04Z" })
      .optional()
      .describe("Only entries updated after this time (RFC 3339); implies include_deleted=true"),
    version: z.string().min(1).max(255).optional().describe("'latest' or an exact version"),
    include_deleted: booleanParam.optional().describe("Include deleted versions (default false)"),
  })
  .superRefine((query, ctx) => {
    if (query.updated_since !== undefined && query.include_deleted === "false") {
      ctx.addIssue({
        code: "custom",
        path: ["include_deleted"],
        message: "updated_since always includes deleted entries; drop include_deleted=false",
      });
    }
  });

export const includeDeletedQuerySchema = z.object({
  include_deleted: booleanParam.optional().describe("Include deleted versions (default false)"),
});

export type ListQueryParams = z.output<typeof listQuerySchema>;

/** Parses query or body values with zod; 400 problem naming every bad field (`query.limit`). */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: "query" | "body",
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    location: issue.path.length === 0 ? where : `${where}.${formatPath(issue.path)}`,
    message: issue.message,
  }));
  throw new ProblemError(
    400,
    "Bad Request",
    errors.map((error) => `${error.location}: ${error.message}`).join("; "),
    { errors },
  );
}

/** Repeated query parameters arrive as arrays; the API takes each once. */
export function singleValues(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    out[key] = Array.isArray(value) ? value[value.length - 1] : value;
  }
  return out;
}

export { authSchemas, serverJsonSchema, validationResultSchema };

import { z } from "zod";
import { authSchemas } from "../auth";
import { ProblemError, type FieldProblem } from "../errors";
import {
  formatPath,
  OFFICIAL_META_KEY,
  serverJsonSchema,
  validationIssueSchema,
  validationResultSchema,
} from "../schema";
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

/** The 400 of POST /validate: a Problem whose findings also come as validation issues. */
export const validationProblemSchema = problemSchema.extend({
  issues: z
    .array(validationIssueSchema)
    .optional()
    .describe("The values the registry cannot store (NUL, unpaired surrogates, invalid UTF-8), as findings"),
});

export const healthSchema = z.object({ status: z.literal("ok"), github_client_id: z.string() });
export const pingSchema = z.object({ pong: z.literal(true) });
export const versionSchema = z.object({
  version: z.string(),
  git_commit: z.string(),
  build_time: z.string(),
});
export const probeSchema = z.object({ status: z.enum(["ok", "unavailable", "draining"]) });

/** Every spelling Go's strconv.ParseBool accepts, as the official registry reads its boolean parameters. */
const TRUE_WORDS = ["1", "t", "T", "TRUE", "true", "True"] as const;
const FALSE_WORDS = ["0", "f", "F", "FALSE", "false", "False"] as const;
const BOOLEAN_WORDS = [...TRUE_WORDS, ...FALSE_WORDS] as const;

/**
 * Query parameters as the official registry reads them: an empty value (`cursor=`) means absent, so
 * clients that always send every parameter work. Each schema accepts "" in its input (the OpenAPI
 * document says so) and turns it into undefined.
 */
const absentWhenEmpty = <T>(value: T | ""): T | undefined => (value === "" ? undefined : value);

const booleanParam = z
  .enum(["", ...BOOLEAN_WORDS], { error: `expected a boolean (${BOOLEAN_WORDS.join(", ")})` })
  .transform((value) => (value === "" ? undefined : (TRUE_WORDS as readonly string[]).includes(value)))
  .optional();

const LIMIT_MESSAGE = "expected an integer from 1 to 100";
const RFC3339_MESSAGE = "expected an RFC 3339 timestamp such as 2025-08-07T13:15:04Z";

export const listQuerySchema = z
  .object({
    cursor: z
      .string()
      .max(2048)
      .transform(absentWhenEmpty)
      .optional()
      .describe("Opaque; metadata.nextCursor of the previous page"),
    limit: z
      .string()
      .regex(/^\d{0,4}$/, LIMIT_MESSAGE)
      .transform((value) => (value === "" ? undefined : Number(value)))
      .pipe(z.number().int().min(1, LIMIT_MESSAGE).max(100, LIMIT_MESSAGE).optional())
      .optional()
      .describe("Page size, 1..100 (default 30)"),
    search: z.string().max(200).optional().describe("Ranked search over names, titles and descriptions"),
    updated_since: z
      .union([z.literal(""), z.iso.datetime({ offset: true, error: RFC3339_MESSAGE })], {
        error: RFC3339_MESSAGE,
      })
      .transform(absentWhenEmpty)
      .optional()
      .describe("Only entries updated after this time (RFC 3339); implies include_deleted=true"),
    version: z
      .string()
      .max(255)
      .transform(absentWhenEmpty)
      .optional()
      .describe("'latest' or an exact version"),
    include_deleted: booleanParam.describe("Include deleted versions (default false)"),
  })
  .superRefine((query, ctx) => {
    if (query.updated_since !== undefined && query.include_deleted === false) {
      ctx.addIssue({
        code: "custom",
        path: ["include_deleted"],
        message: "updated_since always includes deleted entries; drop include_deleted=false",
      });
    }
  });

export const includeDeletedQuerySchema = z.object({
  include_deleted: booleanParam.describe("Include deleted versions (default false)"),
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

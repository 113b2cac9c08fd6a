import { z } from "zod";
import { categorySchema, LABEL_MAX_LENGTH, LABEL_PATTERN, MAX_TAGS } from "../classification";
import { badRequest, type FieldProblem } from "../errors";
import { REGISTRY_TYPES } from "../schema";
import { FACET_NAMES } from "../service";
import type { AttributeFilter } from "../store";

/**
 * Shapes of categories, tags, filters and facets: the one source for their validation, types and the
 * generated OpenAPI document (next to schemas.ts, which holds the official API's shapes).
 */

/** The registry-owned key of a ServerResponse's `_meta` that carries categories and tags. */
export const CLASSIFICATION_META_KEY = "io.mcp-registry/classification";

export const TRANSPORT_TYPES = ["stdio", "streamable-http", "sse"] as const;
const STATUSES = ["active", "deprecated", "deleted"] as const;

const label = z
  .string()
  .max(LABEL_MAX_LENGTH, `must be at most ${LABEL_MAX_LENGTH} characters`)
  .regex(LABEL_PATTERN, "must be lower-case letters and digits in words joined by single hyphens");

/** Go's strconv.ParseBool spellings, as the official registry parses boolean parameters. */
const PARSE_BOOL_TRUE = ["1", "t", "T", "TRUE", "true", "True"] as const;
const PARSE_BOOL_FALSE = ["0", "f", "F", "FALSE", "false", "False"] as const;
const parseBool = z
  .enum([...PARSE_BOOL_TRUE, ...PARSE_BOOL_FALSE], { error: "expected true or false" })
  .transform((value) => (PARSE_BOOL_TRUE as readonly string[]).includes(value));

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (issue) => `"${String(issue.input)}" is not one of ${values.join(", ")}` });

/** Repeatable query parameters: every value (repeated or comma-separated) must be valid. */
const repeatable = <T extends z.ZodType>(item: T, description: string) =>
  z.array(item).max(50, "at most 50 values").optional().describe(description);

export const attributeQuerySchema = z.object({
  category: repeatable(
    label,
    "Category id of the taxonomy (GET /v0.1/categories). Repeat or comma-separate: any of them matches",
  ),
  tag: repeatable(label, "Normalised tag. Repeat or comma-separate: any of them matches"),
  registry_type: repeatable(oneOf(REGISTRY_TYPES), "Package registry type; any of them matches"),
  transport: repeatable(oneOf(TRANSPORT_TYPES), "Transport of a package or remote; any of them matches"),
  remote: parseBool.optional().describe("true: only servers with remotes; false: only servers without"),
  status: repeatable(oneOf(STATUSES), "Status; any of them matches (deleted implies include_deleted)"),
  facets: repeatable(
    oneOf(FACET_NAMES),
    "Facets to count over the whole result set, into metadata.facets (and metadata.totalCount)",
  ),
});

export type AttributeQuery = z.output<typeof attributeQuerySchema>;

/**
 * The values of the repeatable parameters as lists: repeated keys and comma-separated values alike,
 * empty values dropped (an empty parameter is an absent one). Other parameters stay single.
 */
export function attributeQueryValues(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const raw = (query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(attributeQuerySchema.shape)) {
    const given = raw[key];
    if (given === undefined) continue;
    const values = (Array.isArray(given) ? given : [given])
      .flatMap((value) => String(value).split(","))
      .map((value) => value.trim())
      .filter((value) => value !== "");
    if (values.length === 0) continue;
    // remote is a single boolean: the last value wins, as for the official single-valued parameters.
    out[key] = key === "remote" ? values[values.length - 1] : values;
  }
  return out;
}

/** The store's filter of parsed parameters (what GET /servers narrows by). */
export function attributeFilter(query: AttributeQuery): AttributeFilter {
  return {
    categories: query.category,
    tags: query.tag,
    registryTypes: query.registry_type,
    transports: query.transport,
    statuses: query.status,
    remote: query.remote,
  };
}

/** Parses the filter and facet parameters; 400 naming each bad parameter (`query.registry_type`). */
export function parseAttributeQuery(query: unknown): AttributeQuery {
  const result = attributeQuerySchema.safeParse(attributeQueryValues(query));
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    location: `query.${String(issue.path[0] ?? "")}`,
    message: issue.message,
  }));
  throw badRequest(errors);
}

const facetCountSchema = z.object({ value: z.string(), count: z.number().int() });

export const facetResultSchema = z.object({
  counts: z
    .array(facetCountSchema)
    .describe("Over the result set under every filter, most first; values without versions left out"),
  unfiltered: z
    .array(facetCountSchema)
    .optional()
    .describe("As if this facet's own filter were not given (present only when it is): the alternatives"),
});

export const facetsMetadataSchema = z
  .object(Object.fromEntries(FACET_NAMES.map((name) => [name, facetResultSchema.optional()])))
  .describe("Counts per requested facet over every page of the result set (only with `facets`)");

export const classificationMetaSchema = z
  .object({
    categories: z.array(z.string()).describe("Effective category ids of the taxonomy"),
    tags: z.array(z.string()).describe("Effective normalised tags"),
    curated: z
      .array(z.enum(["categories", "tags"]))
      .optional()
      .describe("Parts set by a registry administrator for the server name instead of the publisher"),
    warnings: z
      .array(z.object({ path: z.string(), message: z.string(), reference: z.string() }).loose())
      .optional()
      .describe("Publish and edit responses only: what was not indexed as the publisher wrote it"),
  })
  .describe("Categories and tags as this registry indexes them (present when there are any)");

const labelList = (max: number, description: string) =>
  z.array(label).max(max, `at most ${max} values`).nullable().optional().describe(description);

export const classificationUpdateSchema = z
  .object({
    categories: labelList(
      200,
      "Category ids for every version of the name; null or absent: each version's publisher values",
    ),
    tags: labelList(
      MAX_TAGS,
      "Normalised tags for every version; null or absent: each version's publisher values",
    ),
  })
  .strict();

const overrideValuesSchema = z.object({
  categories: z.array(z.string()).nullable(),
  tags: z.array(z.string()).nullable(),
});

export const classificationViewSchema = z.object({
  name: z.string(),
  override: overrideValuesSchema
    .extend({ updatedAt: z.iso.datetime(), updatedBy: z.string().describe("auth method:subject") })
    .nullable(),
  audit: z
    .array(
      z.object({
        id: z.string(),
        changedAt: z.iso.datetime(),
        actor: z.string().describe("auth method:subject of the administrator's token"),
        before: overrideValuesSchema,
        after: overrideValuesSchema,
      }),
    )
    .describe("Every change of the override, oldest first"),
});

export const categoryListSchema = z.object({ categories: z.array(categorySchema) });

import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DEFAULT_CATEGORIES } from "./default-categories";
import { LABEL_MAX_LENGTH, LABEL_PATTERN } from "./labels";

/** One category of the registry's taxonomy. */
export interface Category {
  id: string;
  title: string;
  description: string;
}

/** Most categories a taxonomy file may define: a taxonomy is for narrowing down, not a tag cloud. */
export const MAX_CATEGORIES = 200;

export const categorySchema = z
  .object({
    id: z
      .string({ error: "must be a string" })
      .max(LABEL_MAX_LENGTH, `must be at most ${LABEL_MAX_LENGTH} characters`)
      .regex(LABEL_PATTERN, "must be lower-case letters and digits in words joined by single hyphens"),
    title: z.string({ error: "must be a string" }).trim().min(1, "must not be empty").max(100),
    description: z.string({ error: "must be a string" }).trim().min(1, "must not be empty").max(300),
  })
  .strict();

/** A taxonomy file: a list of categories, or an object whose `categories` is that list. */
const taxonomyFileSchema = z
  .union([z.array(z.unknown()), z.object({ categories: z.array(z.unknown()) }).strict()], {
    error: "expected a list of categories, or an object with a `categories` list",
  })
  .transform((value) => (Array.isArray(value) ? value : value.categories));

const categoriesSchema = z
  .array(categorySchema)
  .min(1, "must define at least one category")
  .max(MAX_CATEGORIES, `must define at most ${MAX_CATEGORIES} categories`);

/** Repeated ids, checked on the raw entries so they are reported beside every other problem. */
function duplicateIds(entries: readonly unknown[]): Array<{ path: PropertyKey[]; message: string }> {
  const seen = new Map<string, number>();
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  entries.forEach((entry, index) => {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== "string") return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else problems.push({ path: [index, "id"], message: `"${id}" is already the id of categories[${first}]` });
  });
  return problems;
}

/** The categories publishers and administrators may use; filters and facets know only these. */
export class Taxonomy {
  private readonly byId: ReadonlyMap<string, Category>;

  constructor(readonly categories: readonly Category[]) {
    this.byId = new Map(categories.map((category) => [category.id, category]));
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get ids(): string[] {
    return this.categories.map((category) => category.id);
  }
}

export const DEFAULT_TAXONOMY = new Taxonomy(DEFAULT_CATEGORIES);

/** `[3, "id"]` -> `categories[3].id`, the way the file's author finds the entry. */
function entryPath(issuePath: readonly PropertyKey[]): string {
  let out = "categories";
  for (const key of issuePath) out += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
  return out;
}

/** Thrown for an unreadable or invalid taxonomy file: one line per bad entry and field. */
export class TaxonomyFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "TaxonomyFileError";
  }
}

/** Parses a taxonomy from the text of a YAML or JSON file (JSON is YAML, but the extension picks the parser). */
export function parseTaxonomy(text: string, fileName: string): Taxonomy {
  let raw: unknown;
  try {
    raw = /\.json$/i.test(fileName) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new TaxonomyFileError([`is not valid ${/\.json$/i.test(fileName) ? "JSON" : "YAML"}: ${reason}`]);
  }
  const file = taxonomyFileSchema.safeParse(raw);
  if (!file.success) throw new TaxonomyFileError(file.error.issues.map((issue) => issue.message));
  const result = categoriesSchema.safeParse(file.data);
  const issues = [...(result.success ? [] : result.error.issues), ...duplicateIds(file.data)];
  if (!result.success || issues.length > 0) {
    throw new TaxonomyFileError(
      issues.map((issue) =>
        issue.path.length === 0
          ? `categories: ${issue.message}`
          : `${entryPath(issue.path)}: ${issue.message}`,
      ),
    );
  }
  return new Taxonomy(result.data);
}

/** Reads MCP_REGISTRY_CATEGORIES_FILE. */
export function loadTaxonomyFile(file: string): Taxonomy {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new TaxonomyFileError([`cannot read ${file} (${code})`]);
  }
  return parseTaxonomy(text, file);
}

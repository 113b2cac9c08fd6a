import { formatPath, PUBLISHER_META_KEY, type ServerJson, type ValidationIssue } from "../schema";
import type { Taxonomy } from "./taxonomy";

/** What a normalised category id or tag looks like. */
export const LABEL_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const LABEL_MAX_LENGTH = 32;
/** Tags indexed per version; later ones are dropped with a warning. */
export const MAX_TAGS = 20;

/**
 * The one normalisation of categories and tags: ASCII letters lower-cased, every run of other
 * characters outside [a-z0-9] turned into one hyphen, hyphens trimmed at both ends. Undefined when
 * nothing is left or more than 32 characters are. Migration 5's registry_label() is the same rule in
 * SQL (the database indexes with it; test/classification/labels.test.ts checks that both agree).
 */
export function normalizeLabel(raw: string): string | undefined {
  const label = raw
    .replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return label === "" || label.length > LABEL_MAX_LENGTH ? undefined : label;
}

/** The publisher's classification of one version, as the registry indexes it, plus what it changed. */
export interface PublisherClassification {
  /** Known category ids, in the publisher's order, without duplicates. */
  categories: string[];
  /** Normalised tags, the first MAX_TAGS distinct ones. */
  tags: string[];
  /** Warnings (dropped or unknown values) and notes (values indexed in another spelling). */
  issues: ValidationIssue[];
}

type Field = "categories" | "tags";

function issueAt(
  field: Field,
  index: number | undefined,
  message: string,
  severity: "warning" | "info",
  reference: string,
): ValidationIssue {
  const path = formatPath(["_meta", PUBLISHER_META_KEY, field, ...(index === undefined ? [] : [index])]);
  return { type: "classification", path, message: `${path} ${message}`, severity, reference };
}

/** The normalised, distinct labels of one field, with an issue for everything not indexed as written. */
function labelsOf(
  field: Field,
  value: unknown,
  issues: ValidationIssue[],
): Array<{ label: string; index: number }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push(
      issueAt(field, undefined, "must be an array of strings; ignored", "warning", `${field}-not-array`),
    );
    return [];
  }
  const labels: Array<{ label: string; index: number }> = [];
  const seen = new Map<string, number>();
  value.forEach((item: unknown, index) => {
    if (typeof item !== "string") {
      issues.push(issueAt(field, index, "must be a string; ignored", "warning", `${field}-not-string`));
      return;
    }
    const label = normalizeLabel(item);
    if (label === undefined) {
      issues.push(
        issueAt(
          field,
          index,
          `${JSON.stringify(item)} has no letters or digits, or more than ${LABEL_MAX_LENGTH} characters once normalised; dropped`,
          "warning",
          "label-dropped",
        ),
      );
      return;
    }
    const first = seen.get(label);
    if (first !== undefined) {
      issues.push(
        issueAt(
          field,
          index,
          `repeats ${field}[${first}] ("${label}"); counted once`,
          "info",
          "label-duplicate",
        ),
      );
      return;
    }
    seen.set(label, index);
    if (label !== item) {
      issues.push(issueAt(field, index, `is indexed as "${label}"`, "info", "label-normalised"));
    }
    labels.push({ label, index });
  });
  return labels;
}

function publisherMeta(server: ServerJson): Record<string, unknown> {
  const provided = server._meta?.[PUBLISHER_META_KEY];
  return provided ?? {};
}

/**
 * Categories and tags the publisher declared under _meta["io.modelcontextprotocol.registry/publisher-provided"].
 * Nothing here ever rejects a document: unknown categories and unusable tags are warnings.
 */
export function publisherClassification(
  server: ServerJson,
  taxonomy: Pick<Taxonomy, "has">,
): PublisherClassification {
  const meta = publisherMeta(server);
  const issues: ValidationIssue[] = [];
  const categories: string[] = [];
  for (const { label, index } of labelsOf("categories", meta.categories, issues)) {
    if (taxonomy.has(label)) categories.push(label);
    else
      issues.push(
        issueAt(
          "categories",
          index,
          `"${label}" is not a category of this registry (GET /v0.1/categories lists them); kept in the document, not indexed`,
          "warning",
          "unknown-category",
        ),
      );
  }
  const tagLabels = labelsOf("tags", meta.tags, issues);
  for (const { index } of tagLabels.slice(MAX_TAGS)) {
    issues.push(
      issueAt("tags", index, `is beyond the first ${MAX_TAGS} tags; not indexed`, "warning", "too-many-tags"),
    );
  }
  return { categories, tags: tagLabels.slice(0, MAX_TAGS).map((entry) => entry.label), issues };
}

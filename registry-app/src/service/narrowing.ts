import type { Taxonomy } from "../classification";
import { badRequest, type FieldProblem } from "../errors";
import type { AttributeFilter, FacetName } from "../store";
import { filterDigest } from "./cursor";

/** What narrows GET /servers beyond the official parameters, and the facets to count. */
export interface Narrowing {
  attributes?: AttributeFilter;
  facets?: readonly FacetName[];
}

/** True when a filter of this kind is given (an empty list is no filter). */
export function hasAttributeFilter(filter: AttributeFilter | undefined): boolean {
  if (filter === undefined) return false;
  return (
    [filter.categories, filter.tags, filter.registryTypes, filter.transports, filter.statuses].some(
      (values) => values !== undefined && values.length > 0,
    ) || filter.remote !== undefined
  );
}

/** 400 naming each category id that is not the taxonomy's (filters only know the taxonomy). */
export function assertKnownCategories(taxonomy: Taxonomy, filter: AttributeFilter | undefined): void {
  const errors: FieldProblem[] = (filter?.categories ?? [])
    .filter((id) => !taxonomy.has(id))
    .map((id) => ({
      location: "query.category",
      message: `"${id}" is not a category of this registry (GET /v0.1/categories lists them)`,
    }));
  if (errors.length === 0) return;
  throw badRequest(errors);
}

/** Deleted versions are in scope when asked for: include_deleted, updated_since, or a status filter naming deleted. */
export function includesDeleted(
  includeDeleted: boolean,
  updatedSince: Date | undefined,
  filter: AttributeFilter | undefined,
): boolean {
  return includeDeleted || updatedSince !== undefined || (filter?.statuses ?? []).includes("deleted");
}

/** The digest a request's cursors are bound to: every parameter that decides which versions match. */
export function cursorFilters(query: {
  search?: string;
  version?: string;
  includeDeleted: boolean;
  updatedSince?: Date;
  attributes?: AttributeFilter;
}): string {
  const a = query.attributes ?? {};
  return filterDigest({
    search: query.search?.trim() || null,
    version: query.version ?? null,
    includeDeleted: query.includeDeleted,
    updatedSince: query.updatedSince?.getTime() ?? null,
    category: a.categories ?? [],
    tag: a.tags ?? [],
    registryType: a.registryTypes ?? [],
    transport: a.transports ?? [],
    status: a.statuses ?? [],
    remote: a.remote ?? null,
  });
}

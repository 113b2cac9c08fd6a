import type { ServerStatus } from "./servers";

export const FACET_NAMES = ["category", "tag", "registry_type", "transport", "status", "remote"] as const;
export type FacetName = (typeof FACET_NAMES)[number];

/**
 * Filters on what a version declares (migration 5's columns): each list matches any of its values,
 * and every given filter must match. Category ids must be the taxonomy's (the service checks).
 */
export interface AttributeFilter {
  categories?: string[];
  tags?: string[];
  registryTypes?: string[];
  transports?: string[];
  statuses?: ServerStatus[];
  /** true: versions with remotes; false: versions without. */
  remote?: boolean;
}

/** The facet each filter narrows, and its SQL over server_versions `v` (arrays use the GIN indexes). */
export function attributeConditions(
  filter: AttributeFilter | undefined,
  params: unknown[],
): Map<FacetName, string> {
  const conditions = new Map<FacetName, string>();
  if (filter === undefined) return conditions;
  const overlap = (facet: FacetName, column: string, values: string[] | undefined) => {
    if (values === undefined || values.length === 0) return;
    params.push(values);
    conditions.set(facet, `v.${column} && $${params.length}::text[]`);
  };
  overlap("category", "categories", filter.categories);
  overlap("tag", "tags", filter.tags);
  overlap("registry_type", "registry_types", filter.registryTypes);
  overlap("transport", "transports", filter.transports);
  if (filter.statuses !== undefined && filter.statuses.length > 0) {
    params.push(filter.statuses);
    conditions.set("status", `v.status = ANY($${params.length}::text[])`);
  }
  if (filter.remote !== undefined) {
    params.push(filter.remote);
    conditions.set("remote", `v.has_remote = $${params.length}`);
  }
  return conditions;
}

/** The WHERE conditions of an attribute filter, for list and search queries. */
export function attributeFilterConditions(filter: AttributeFilter | undefined, params: unknown[]): string[] {
  return [...attributeConditions(filter, params).values()];
}

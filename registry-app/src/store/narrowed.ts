import { filterConditions, type ListFilter } from "./servers";

/**
 * A list page narrowed by categories, tags, package types, transports, remotes or statuses, as SQL
 * selecting `columns` of server_versions `v`: the page's keys are found first on the covering index
 * server_versions_facets alone (its tuples carry every filter column, so no document is read to
 * reject a version), then only the page's rows are read whole. Same order and cursor as a plain list.
 */
export function narrowedListQuery(filter: ListFilter, columns: string): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const conditions = filterConditions(filter, params);
  if (filter.after !== undefined) {
    params.push(filter.after.name, filter.after.version);
    conditions.push(`(v.name, v.version) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(filter.limit);
  const text = `SELECT ${columns}
     FROM (SELECT v.id FROM server_versions v WHERE ${conditions.join(" AND ") || "true"}
           ORDER BY v.name, v.version LIMIT $${params.length}) page
     JOIN server_versions v ON v.id = page.id
     ORDER BY v.name, v.version`;
  return { text, params };
}

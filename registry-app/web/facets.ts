// Filters of the search page: the URL parameters of GET /v0.1/servers (issue 13's names) and the facet
// counts the API returns in metadata.facets, read into one shape for the page.

export interface FacetOption {
  value: string;
  label: string;
  /** Servers in the current results with this value; undefined when the API sent no counts. */
  count: number | undefined;
}

export interface FacetGroup {
  param: FilterParam;
  label: string;
  /** Several values combine (OR) in one parameter; otherwise choosing one replaces the other. */
  multiple: boolean;
  options: FacetOption[];
}

export const FILTER_PARAMS = ["category", "tag", "registry_type", "transport", "remote", "status"] as const;
export type FilterParam = (typeof FILTER_PARAMS)[number];

/** Facets the page asks for (`facets=`). */
export const FACET_NAMES = ["category", "tag", "registry_type", "transport", "status"] as const;

const GROUP_LABELS: Record<FilterParam, string> = {
  category: "Category",
  tag: "Tag",
  registry_type: "Package type",
  transport: "Transport",
  remote: "Hosting",
  status: "Status",
};

const VALUE_LABELS: Partial<Record<FilterParam, Record<string, string>>> = {
  registry_type: { npm: "npm", pypi: "PyPI", oci: "Docker (OCI)", nuget: "NuGet", mcpb: "MCP bundle" },
  transport: { stdio: "stdio (local)", "streamable-http": "Streamable HTTP", sse: "Server-sent events" },
  status: { active: "Active", deprecated: "Deprecated", deleted: "Deleted" },
  remote: { true: "Remote endpoint" },
};

export function valueLabel(param: FilterParam, value: string): string {
  const known = VALUE_LABELS[param]?.[value];
  if (known !== undefined) return known;
  if (param === "category") {
    const words = value.replace(/[-_]+/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }
  return value;
}

/** Without facet counts from the API: the values of package type and status, uncounted. */
const FALLBACK_FACETS: Record<string, unknown> = {
  registry_type: Object.keys(VALUE_LABELS.registry_type ?? {}).map((value) => ({ value, count: undefined })),
  status: Object.keys(VALUE_LABELS.status ?? {}).map((value) => ({ value, count: undefined })),
};

export const MULTIPLE: ReadonlySet<FilterParam> = new Set(["category"]);

/** The filters set in a URL's query. */
export function filtersOf(params: URLSearchParams): Map<FilterParam, string[]> {
  const filters = new Map<FilterParam, string[]>();
  for (const param of FILTER_PARAMS) {
    const values = params.getAll(param).filter((value) => value !== "");
    if (values.length > 0) filters.set(param, MULTIPLE.has(param) ? values : values.slice(-1));
  }
  return filters;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `[{value, count}]`, `{value: count}` or either under `values`/`counts`: the counts of one facet. */
function countsOf(raw: unknown): Array<{ value: string; count: number | undefined; label?: string }> {
  if (isRecord(raw)) {
    for (const key of ["values", "counts", "buckets"]) if (key in raw) return countsOf(raw[key]);
    return Object.entries(raw)
      .filter((entry): entry is [string, number] => typeof entry[1] === "number")
      .map(([value, count]) => ({ value, count }));
  }
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item) => {
    if (!isRecord(item)) return [];
    const value = item.value ?? item.id ?? item.key ?? item.name;
    const count = typeof item.count === "number" ? item.count : undefined;
    const label = typeof item.title === "string" ? item.title : undefined;
    return typeof value === "string" ? [{ value, count, label }] : [];
  });
}

/**
 * Facet groups from metadata.facets, with every value that is selected kept visible (at 0 when the
 * API no longer counts it) so a filter can always be removed where it was set.
 */
export function facetGroups(rawFacets: unknown, selected: Map<FilterParam, string[]>): FacetGroup[] {
  const facets = isRecord(rawFacets) ? rawFacets : FALLBACK_FACETS;
  const groups: FacetGroup[] = [];
  for (const param of FILTER_PARAMS) {
    const counted = param === "remote" ? [] : countsOf(facets[param]);
    const options: FacetOption[] = counted.map(({ value, count, label }) => ({
      value,
      count,
      label: label ?? valueLabel(param, value),
    }));
    if (param === "remote")
      options.push({ value: "true", count: undefined, label: valueLabel("remote", "true") });
    for (const value of selected.get(param) ?? []) {
      if (!options.some((option) => option.value === value))
        options.push({ value, count: 0, label: valueLabel(param, value) });
    }
    if (options.length === 0) continue;
    groups.push({ param, label: GROUP_LABELS[param], multiple: MULTIPLE.has(param), options });
  }
  return groups;
}

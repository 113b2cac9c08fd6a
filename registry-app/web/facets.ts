// Filters of the search page: the URL parameters of GET /v0.1/servers and the facet counts it returns in
// metadata.facets (`{<facet>: {counts: [{value, count}], unfiltered?}}`), read into one shape for the page.

export interface FacetOption {
  value: string;
  label: string;
  count: number;
}

export interface FacetGroup {
  param: FilterParam;
  label: string;
  /** Several values combine (any of them matches); `remote` is one boolean. */
  multiple: boolean;
  options: FacetOption[];
}

export const FILTER_PARAMS = ["category", "tag", "registry_type", "transport", "remote", "status"] as const;
export type FilterParam = (typeof FILTER_PARAMS)[number];

/** Facets the page asks for (`facets=`): one per filter. */
export const FACET_NAMES: readonly FilterParam[] = FILTER_PARAMS;

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
  remote: { true: "Remote endpoint", false: "Packages only" },
};

/** A category id until the taxonomy's title is known: "developer-tools" -> "Developer tools". */
function fromId(id: string): string {
  const words = id.replace(/-/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function valueLabel(param: FilterParam, value: string, titles?: ReadonlyMap<string, string>): string {
  if (param === "category") return titles?.get(value) ?? fromId(value);
  return VALUE_LABELS[param]?.[value] ?? value;
}

const SINGLE: ReadonlySet<FilterParam> = new Set(["remote"]);

/** The filters set in a URL's query (repeated or comma-separated, as the API reads them). */
export function filtersOf(params: URLSearchParams): Map<FilterParam, string[]> {
  const filters = new Map<FilterParam, string[]>();
  for (const param of FILTER_PARAMS) {
    const values = [
      ...new Set(
        params
          .getAll(param)
          .flatMap((value) => value.split(","))
          .map((value) => value.trim())
          .filter((value) => value !== ""),
      ),
    ];
    if (values.length > 0) filters.set(param, SINGLE.has(param) ? values.slice(-1) : values);
  }
  return filters;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function countList(raw: unknown): Array<{ value: string; count: number }> {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item) =>
    isRecord(item) && typeof item.value === "string" && typeof item.count === "number"
      ? [{ value: item.value, count: item.count }]
      : [],
  );
}

/**
 * Facet groups from metadata.facets. A filtered facet shows its `unfiltered` counts (the alternatives);
 * a selected value the API no longer counts stays listed at 0, so a filter can be removed where it was set.
 */
export function facetGroups(
  rawFacets: unknown,
  selected: Map<FilterParam, string[]>,
  titles?: ReadonlyMap<string, string>,
): FacetGroup[] {
  const facets = isRecord(rawFacets) ? rawFacets : {};
  const groups: FacetGroup[] = [];
  for (const param of FILTER_PARAMS) {
    const facet = facets[param];
    const counted = isRecord(facet) ? countList(facet.unfiltered ?? facet.counts) : [];
    const options = counted.map(({ value, count }) => ({
      value,
      count,
      label: valueLabel(param, value, titles),
    }));
    for (const value of selected.get(param) ?? []) {
      if (!options.some((option) => option.value === value))
        options.push({ value, count: 0, label: valueLabel(param, value, titles) });
    }
    if (param === "remote") options.sort((a, b) => b.value.localeCompare(a.value));
    if (options.length === 0) continue;
    groups.push({ param, label: GROUP_LABELS[param], multiple: !SINGLE.has(param), options });
  }
  return groups;
}

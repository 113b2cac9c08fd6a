import {
  byCount,
  FACET_NAMES,
  type AttributeFilter,
  type FacetCount,
  type FacetCounts,
  type FacetName,
  type FacetResult,
  type FacetRow,
  type ServerStatus,
} from "../store";

/** One multi-valued column: a dictionary of its values and each version's value ids (CSR layout). */
interface ListColumn {
  dictionary: string[];
  ids: Map<string, number>;
  /** Version i's value ids are values[offsets[i] .. offsets[i + 1]). */
  offsets: Uint32Array;
  values: Uint32Array;
}

const STATUSES: readonly ServerStatus[] = ["active", "deprecated", "deleted"];
const DELETED = 2;
type ListFacet = "category" | "tag" | "registry_type" | "transport";
const LIST_FACETS: readonly ListFacet[] = ["category", "tag", "registry_type", "transport"];

function listColumn(rows: readonly FacetRow[], pick: (row: FacetRow) => string[]): ListColumn {
  const ids = new Map<string, number>();
  const dictionary: string[] = [];
  const offsets = new Uint32Array(rows.length + 1);
  let total = 0;
  for (const row of rows) total += pick(row).length;
  const values = new Uint32Array(total);
  let at = 0;
  rows.forEach((row, index) => {
    for (const value of pick(row)) {
      let id = ids.get(value);
      if (id === undefined) {
        id = dictionary.length;
        ids.set(value, id);
        dictionary.push(value);
      }
      values[at++] = id;
    }
    offsets[index + 1] = at;
  });
  return { dictionary, ids, offsets, values };
}

function increment(counts: Int32Array, id: number): void {
  counts[id] = (counts[id] as number) + 1;
}

/** Which values of one facet a filter accepts, as a lookup table over the facet's value ids. */
type Accepts = Uint8Array;

export interface IndexScope {
  includeDeleted: boolean;
  latestOnly: boolean;
}

/**
 * The facet columns of every version, held column-wise in typed arrays so that counting all facets
 * of a request is one pass over the versions in scope, in memory, with no query. Immutable: a
 * snapshot of the database at one change generation.
 */
export class FacetSnapshot {
  readonly size: number;
  private readonly status: Uint8Array;
  private readonly latest: Uint8Array;
  private readonly remote: Uint8Array;
  private readonly lists: Record<ListFacet, ListColumn>;

  constructor(rows: readonly FacetRow[]) {
    this.size = rows.length;
    this.status = Uint8Array.from(rows, (row) => STATUSES.indexOf(row.status));
    this.latest = Uint8Array.from(rows, (row) => (row.is_latest ? 1 : 0));
    this.remote = Uint8Array.from(rows, (row) => (row.has_remote ? 1 : 0));
    this.lists = {
      category: listColumn(rows, (row) => row.categories),
      tag: listColumn(rows, (row) => row.tags),
      registry_type: listColumn(rows, (row) => row.registry_types),
      transport: listColumn(rows, (row) => row.transports),
    };
  }

  /** Bytes held by the typed arrays and dictionaries, roughly (for operators sizing replicas). */
  get bytes(): number {
    let bytes = this.size * 3;
    for (const facet of LIST_FACETS) {
      const column = this.lists[facet];
      bytes += column.offsets.byteLength + column.values.byteLength;
      for (const value of column.dictionary) bytes += 48 + value.length * 2;
    }
    return bytes;
  }

  private accepts(facet: FacetName, filter: AttributeFilter): Accepts | undefined {
    const wanted = (
      values: readonly string[] | undefined,
      ids: (value: string) => number | undefined,
      size: number,
    ) => {
      if (values === undefined || values.length === 0) return undefined;
      const table = new Uint8Array(size);
      for (const value of values) {
        const id = ids(value);
        if (id !== undefined) table[id] = 1;
      }
      return table;
    };
    switch (facet) {
      case "category":
      case "tag":
      case "registry_type":
      case "transport": {
        const column = this.lists[facet];
        const values = {
          category: filter.categories,
          tag: filter.tags,
          registry_type: filter.registryTypes,
          transport: filter.transports,
        }[facet];
        return wanted(values, (value) => column.ids.get(value), column.dictionary.length);
      }
      case "status":
        return wanted(filter.statuses, (value) => STATUSES.indexOf(value as ServerStatus), STATUSES.length);
      case "remote":
        return filter.remote === undefined
          ? undefined
          : Uint8Array.of(filter.remote ? 0 : 1, filter.remote ? 1 : 0);
    }
  }

  /** Counts of the requested facets over the versions in scope that pass the filter (see FacetResult). */
  count(
    scope: IndexScope,
    filter: AttributeFilter,
    facets: readonly FacetName[],
    knownCategories: ReadonlySet<string>,
  ): FacetCounts {
    const active: Array<{ facet: FacetName; accepts: Accepts }> = [];
    for (const facet of FACET_NAMES) {
      const accepts = this.accepts(facet, filter);
      if (accepts !== undefined) active.push({ facet, accepts });
    }
    const bitOf = new Map(active.map(({ facet }, bit) => [facet, bit]));
    const sizeOf = (facet: FacetName) =>
      facet === "status" ? STATUSES.length : facet === "remote" ? 2 : this.lists[facet].dictionary.length;
    const counts = new Map(facets.map((facet) => [facet, new Int32Array(sizeOf(facet))]));
    const unfiltered = new Map(
      facets.filter((facet) => bitOf.has(facet)).map((facet) => [facet, new Int32Array(sizeOf(facet))]),
    );
    const add = (target: Int32Array, facet: FacetName, row: number) => {
      if (facet === "status") increment(target, this.status[row] as number);
      else if (facet === "remote") increment(target, this.remote[row] as number);
      else {
        const { offsets, values } = this.lists[facet];
        for (let k = offsets[row] as number; k < (offsets[row + 1] as number); k += 1)
          increment(target, values[k] as number);
      }
    };
    const passes = (facet: FacetName, accepts: Accepts, row: number): boolean => {
      if (facet === "status") return accepts[this.status[row] as number] === 1;
      if (facet === "remote") return accepts[this.remote[row] as number] === 1;
      const { offsets, values } = this.lists[facet];
      for (let k = offsets[row] as number; k < (offsets[row + 1] as number); k += 1)
        if (accepts[values[k] as number] === 1) return true;
      return false;
    };
    let total = 0;
    for (let row = 0; row < this.size; row += 1) {
      if (!scope.includeDeleted && this.status[row] === DELETED) continue;
      if (scope.latestOnly && this.latest[row] === 0) continue;
      let failed = 0;
      for (let bit = 0; bit < active.length; bit += 1) {
        const { facet, accepts } = active[bit] as { facet: FacetName; accepts: Accepts };
        if (!passes(facet, accepts, row)) failed |= 1 << bit;
      }
      if (failed === 0) {
        total += 1;
        for (const [facet, target] of counts) add(target, facet, row);
        for (const [facet, target] of unfiltered) add(target, facet, row);
      } else if ((failed & (failed - 1)) === 0) {
        // Fails exactly one filter: it counts for that facet's alternatives.
        const missed = active[31 - Math.clz32(failed)]?.facet as FacetName;
        const target = unfiltered.get(missed);
        if (target !== undefined) add(target, missed, row);
      }
    }
    const valueOf = (facet: FacetName, id: number): string =>
      facet === "status"
        ? (STATUSES[id] as string)
        : facet === "remote"
          ? String(id === 1)
          : (this.lists[facet].dictionary[id] as string);
    const listed = (facet: FacetName, target: Int32Array): FacetCount[] => {
      const out: FacetCount[] = [];
      target.forEach((count, id) => {
        const value = valueOf(facet, id);
        if (count > 0 && (facet !== "category" || knownCategories.has(value))) out.push({ value, count });
      });
      return out.sort(byCount);
    };
    const result: FacetCounts = { total, facets: {} };
    for (const facet of facets) {
      const own = unfiltered.get(facet);
      const entry: FacetResult = { counts: listed(facet, counts.get(facet) as Int32Array) };
      if (own !== undefined) entry.unfiltered = listed(facet, own);
      result.facets[facet] = entry;
    }
    return result;
  }
}

/**
 * True when generation `a` is `b` or later: every shard's counter only grows (migration 3), so a
 * snapshot loaded at `a` holds everything committed by the time `b` was read.
 */
function atLeast(a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [a.split("."), b.split(".")];
  return x.length === y.length && x.every((value, index) => BigInt(value) >= BigInt(y[index] as string));
}

/**
 * Facet counts from a FacetSnapshot kept at the database's current change generation: each request
 * learns the generation from a read that started after it arrived (shared with concurrent requests),
 * and a new generation loads a new snapshot first (one load per generation, shared). So counts are
 * never staler than a query's would be, on every replica, as with the read cache.
 */
export class FacetIndex {
  private snapshot: { generation: string; value: Promise<FacetSnapshot> } | undefined;

  constructor(
    private readonly generation: () => Promise<string>,
    private readonly load: () => Promise<FacetRow[]>,
  ) {}

  async current(): Promise<FacetSnapshot> {
    const generation = await this.generation();
    if (this.snapshot === undefined || !atLeast(this.snapshot.generation, generation)) {
      const value = this.load().then((rows) => new FacetSnapshot(rows));
      const entry = { generation, value };
      this.snapshot = entry;
      // A failed load is not kept: the next request tries again.
      value.catch(() => {
        if (this.snapshot === entry) this.snapshot = undefined;
      });
    }
    return this.snapshot.value;
  }
}

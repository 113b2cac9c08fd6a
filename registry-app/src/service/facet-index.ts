import {
  byCount,
  FACET_NAMES,
  type AttributeFilter,
  type FacetChanges,
  type FacetCount,
  type FacetCounts,
  type FacetName,
  type FacetResult,
  type FacetRow,
} from "../store";

/** One facet's values: a dictionary, and per version the ids of its values. */
interface Column {
  dictionary: string[];
  ids: Map<string, number>;
  /** rows[position] holds that version's value ids. */
  rows: number[][];
}

const newColumn = (): Column => ({ dictionary: [], ids: new Map(), rows: [] });

function idOf(column: Column, value: string): number {
  let id = column.ids.get(value);
  if (id === undefined) {
    id = column.dictionary.length;
    column.ids.set(value, id);
    column.dictionary.push(value);
  }
  return id;
}

/** The values of each facet of a version (status and remote as one-value facets). */
function valuesOf(row: FacetRow): Record<FacetName, readonly string[]> {
  return {
    category: row.categories,
    tag: row.tags,
    registry_type: row.registry_types,
    transport: row.transports,
    status: [row.status],
    remote: [String(row.has_remote)],
  };
}

function wantedValues(facet: FacetName, filter: AttributeFilter): readonly string[] | undefined {
  const values = {
    category: filter.categories,
    tag: filter.tags,
    registry_type: filter.registryTypes,
    transport: filter.transports,
    status: filter.statuses,
    remote: filter.remote === undefined ? undefined : [String(filter.remote)],
  }[facet];
  return values === undefined || values.length === 0 ? undefined : values;
}

function tally(counts: Int32Array, ids: readonly number[]): void {
  for (const id of ids) counts[id] = (counts[id] as number) + 1;
}

export interface IndexScope {
  includeDeleted: boolean;
  latestOnly: boolean;
}

/**
 * The facet values of every version, column-wise with dictionary-encoded values, so counting every
 * facet of a request is one pass over the versions with no query. Versions are added or replaced by
 * id as changes arrive (rows are never deleted from server_versions, so neither are they here).
 */
export class FacetTable {
  private readonly positions = new Map<string, number>();
  private readonly deleted: boolean[] = [];
  private readonly latest: boolean[] = [];
  private readonly columns: Record<FacetName, Column> = {
    category: newColumn(),
    tag: newColumn(),
    registry_type: newColumn(),
    transport: newColumn(),
    status: newColumn(),
    remote: newColumn(),
  };

  get size(): number {
    return this.deleted.length;
  }

  /** Adds new versions and replaces the values of known ones. */
  apply(rows: readonly FacetRow[]): void {
    for (const row of rows) {
      let position = this.positions.get(row.id);
      if (position === undefined) {
        position = this.deleted.length;
        this.positions.set(row.id, position);
      }
      this.deleted[position] = row.status === "deleted";
      this.latest[position] = row.is_latest;
      const values = valuesOf(row);
      for (const facet of FACET_NAMES) {
        const column = this.columns[facet];
        column.rows[position] = values[facet].map((value) => idOf(column, value));
      }
    }
  }

  /** Counts of the requested facets over the versions in scope that pass the filter (see FacetResult). */
  count(
    scope: IndexScope,
    filter: AttributeFilter,
    facets: readonly FacetName[],
    knownCategories: ReadonlySet<string>,
  ): FacetCounts {
    const filters: Array<{ facet: FacetName; rows: number[][]; accepts: Uint8Array }> = [];
    for (const facet of FACET_NAMES) {
      const wanted = wantedValues(facet, filter);
      if (wanted === undefined) continue;
      const column = this.columns[facet];
      const accepts = new Uint8Array(column.dictionary.length);
      for (const value of wanted) {
        const id = column.ids.get(value);
        if (id !== undefined) accepts[id] = 1;
      }
      filters.push({ facet, rows: column.rows, accepts });
    }
    const filtered = new Set(filters.map((entry) => entry.facet));
    const tallies = facets.map((facet) => {
      const column = this.columns[facet];
      return {
        facet,
        column,
        counts: new Int32Array(column.dictionary.length),
        unfiltered: filtered.has(facet) ? new Int32Array(column.dictionary.length) : undefined,
      };
    });
    // A version failing exactly filter k counts among the alternatives of k's facet (if requested).
    const alternatives = filters.map(({ facet }) => tallies.find((entry) => entry.facet === facet));
    let total = 0;
    for (let row = 0; row < this.deleted.length; row += 1) {
      if ((this.deleted[row] && !scope.includeDeleted) || (scope.latestOnly && !this.latest[row])) continue;
      let failed = -1;
      let failures = 0;
      for (let k = 0; k < filters.length && failures < 2; k += 1) {
        const { rows, accepts } = filters[k] as (typeof filters)[number];
        if (!(rows[row] as number[]).some((id) => accepts[id] === 1)) {
          failed = k;
          failures += 1;
        }
      }
      if (failures === 0) {
        total += 1;
        for (const entry of tallies) {
          const ids = entry.column.rows[row] as number[];
          tally(entry.counts, ids);
          if (entry.unfiltered !== undefined) tally(entry.unfiltered, ids);
        }
      } else if (failures === 1) {
        const entry = alternatives[failed];
        if (entry?.unfiltered !== undefined) tally(entry.unfiltered, entry.column.rows[row] as number[]);
      }
    }
    const listed = (facet: FacetName, column: Column, counts: Int32Array): FacetCount[] => {
      const out: FacetCount[] = [];
      counts.forEach((count, id) => {
        const value = column.dictionary[id] as string;
        if (count > 0 && (facet !== "category" || knownCategories.has(value))) out.push({ value, count });
      });
      return out.sort(byCount);
    };
    const result: FacetCounts = { total, facets: {} };
    for (const { facet, column, counts, unfiltered } of tallies) {
      const entry: FacetResult = { counts: listed(facet, column, counts) };
      if (unfiltered !== undefined) entry.unfiltered = listed(facet, column, unfiltered);
      result.facets[facet] = entry;
    }
    return result;
  }
}

/**
 * True when generation `a` is `b` or later: every shard's counter only grows (migration 3), so data
 * read after `a` was read holds everything committed by the time `b` was read.
 */
function atLeast(a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [a.split("."), b.split(".")];
  return x.length === y.length && x.every((value, index) => BigInt(value) >= BigInt(y[index] as string));
}

/**
 * A FacetTable kept at the database's change generation. A request learns the generation from a read
 * that started after it arrived (shared with concurrent requests, as the read cache does). If the
 * table was refreshed at that generation or a later one, it answers at once; otherwise the request
 * waits for a refresh that starts after its read: the change generation first, then the versions
 * written since the previous refresh's snapshot (one small query, whatever wrote them: any replica,
 * ingestion, manual SQL). Refreshes run one at a time, concurrent requests sharing them, so counts are
 * never staler than a query's would be.
 */
export class FacetIndex {
  private table = new FacetTable();
  /** Generation and snapshot xmin of the last refresh. */
  private refreshed: { generation: string; xmin: string } | undefined;
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly generation: () => Promise<string>,
    private readonly changes: (since: string) => Promise<FacetChanges>,
  ) {}

  /** The table, current for a request arriving now. */
  async current(): Promise<FacetTable> {
    const generation = await this.generation();
    if (this.refreshed === undefined || !atLeast(this.refreshed.generation, generation)) await this.refresh();
    return this.table;
  }

  /** A refresh that starts after this call: the queued one if any, else a new one (after the one in flight). */
  private refresh(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    if (this.inFlight === undefined) return this.launch();
    const settled = this.inFlight.then(
      () => undefined,
      () => undefined,
    );
    this.queued = settled.then(() => {
      this.queued = undefined;
      return this.launch();
    });
    return this.queued;
  }

  private launch(): Promise<void> {
    const run = (async () => {
      // The generation before the rows: the rows then hold at least what it stands for.
      const generation = await this.generation();
      let changed = await this.changes(this.refreshed?.xmin ?? "0");
      if (this.refreshed !== undefined && BigInt(changed.xmin) < BigInt(this.refreshed.xmin)) {
        // Transaction ids went back: a database restored under a running process. Start over.
        this.table = new FacetTable();
        changed = await this.changes("0");
      }
      this.table.apply(changed.rows);
      this.refreshed = { generation, xmin: changed.xmin };
    })();
    this.inFlight = run;
    const clear = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}

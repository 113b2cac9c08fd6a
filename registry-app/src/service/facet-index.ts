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

/** Code-unit order is UTF-8 byte order (PostgreSQL's "C" collation) unless a string holds a surrogate. */
const MAY_MISORDER = /[\ud800-\uffff]/;

/** (name, version) in the order of the store's lists: byte order of both, as the "C" collation sorts. */
function compareKeys(a: VersionKey, b: VersionKey): number {
  return compareText(a.name, b.name) || compareText(a.version, b.version);
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  if (MAY_MISORDER.test(a) || MAY_MISORDER.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : 1;
}

interface VersionKey {
  name: string;
  version: string;
}

export interface IndexScope {
  includeDeleted: boolean;
  latestOnly: boolean;
}

/** One facet packed for reads: the value ids of position p are values[start[p]] to values[start[p + 1] - 1]. */
interface PackedColumn {
  start: Int32Array;
  values: Int32Array;
}

/** A filter over one facet: its packed column and which value ids it accepts. */
interface PackedFilter extends PackedColumn {
  facet: FacetName;
  accepts: Uint8Array;
}

function passes(filter: PackedFilter, row: number): boolean {
  const end = filter.start[row + 1] as number;
  for (let at = filter.start[row] as number; at < end; at += 1) {
    if (filter.accepts[filter.values[at] as number] === 1) return true;
  }
  return false;
}

function tally(counts: Int32Array, column: PackedColumn, row: number): void {
  const end = column.start[row + 1] as number;
  for (let at = column.start[row] as number; at < end; at += 1) {
    const id = column.values[at] as number;
    counts[id] = (counts[id] as number) + 1;
  }
}

/**
 * The facet values of every version, column-wise with dictionary-encoded values, so counting every
 * facet of a request is one pass over the versions with no query. Versions are added or replaced by
 * id as changes arrive (rows are never deleted from server_versions, so neither are they here).
 * Reads use a packed copy (typed arrays, and per scope the positions in list order) built on the
 * first read after a change: a `version=latest` request walks only the latest versions.
 */
export class FacetTable {
  /**
   * The change generation the table was last refreshed at (set by FacetIndex together with the
   * rows): an answer built from the table is as of that generation.
   */
  generation: string | undefined;
  private readonly positions = new Map<string, number>();
  /** Per position: the version's id, name and version (never change for an id). */
  private readonly keys: Array<VersionKey & { id: string }> = [];
  /** Positions in (name, version) order, the order of list pages. */
  private readonly order: number[] = [];
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
  /** The packed copy, dropped by every change. */
  private packedColumns: Record<FacetName, PackedColumn> | undefined;
  private readonly scoped = new Map<string, Int32Array>();

  get size(): number {
    return this.deleted.length;
  }

  /** Adds new versions and replaces the values of known ones. */
  apply(rows: readonly FacetRow[]): void {
    if (rows.length === 0) return;
    this.packedColumns = undefined;
    this.scoped.clear();
    const added: number[] = [];
    for (const row of rows) {
      let position = this.positions.get(row.id);
      if (position === undefined) {
        position = this.deleted.length;
        this.positions.set(row.id, position);
        this.keys[position] = { id: row.id, name: row.name, version: row.version };
        added.push(position);
      }
      this.deleted[position] = row.status === "deleted";
      this.latest[position] = row.is_latest;
      const values = valuesOf(row);
      for (const facet of FACET_NAMES) {
        const column = this.columns[facet];
        column.rows[position] = values[facet].map((value) => idOf(column, value));
      }
    }
    // A few new versions (a publish) go in by binary search; a load is sorted once.
    if (added.length > 64) {
      for (const position of added) this.order.push(position);
      this.order.sort((a, b) => compareKeys(this.keys[a] as VersionKey, this.keys[b] as VersionKey));
    } else {
      for (const position of added) {
        this.order.splice(this.firstAfter(this.order, this.keys[position] as VersionKey, true), 0, position);
      }
    }
  }

  /**
   * Ids of the first `limit` versions in scope that pass the filter, in (name, version) order, strictly
   * after `after` when given: a list page found without a query, to be read by id.
   */
  page(scope: IndexScope, filter: AttributeFilter, after: VersionKey | undefined, limit: number): string[] {
    const filters = this.filtersOf(filter);
    const rows = this.inScope(scope);
    const ids: string[] = [];
    for (let at = after === undefined ? 0 : this.firstAfter(rows, after, false); at < rows.length; at += 1) {
      const row = rows[at] as number;
      if (!filters.every((test) => passes(test, row))) continue;
      ids.push((this.keys[row] as { id: string }).id);
      if (ids.length === limit) break;
    }
    return ids;
  }

  /** The positions in scope, in (name, version) order. */
  private inScope(scope: IndexScope): Int32Array {
    const key = `${scope.includeDeleted}/${scope.latestOnly}`;
    let rows = this.scoped.get(key);
    if (rows === undefined) {
      rows = Int32Array.from(
        this.order.filter(
          (row) =>
            (scope.includeDeleted || !this.deleted[row]) && (!scope.latestOnly || this.latest[row] === true),
        ),
      );
      this.scoped.set(key, rows);
    }
    return rows;
  }

  /** The first place in `rows` whose key is after `key` (or, `orEqual`, not before it): binary search. */
  private firstAfter(rows: ArrayLike<number>, key: VersionKey, orEqual: boolean): number {
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const compared = compareKeys(this.keys[rows[middle] as number] as VersionKey, key);
      if (compared < 0 || (compared === 0 && !orEqual)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private packed(): Record<FacetName, PackedColumn> {
    if (this.packedColumns === undefined) {
      const pack = (rows: number[][]): PackedColumn => {
        const start = new Int32Array(rows.length + 1);
        rows.forEach((ids, row) => (start[row + 1] = (start[row] as number) + ids.length));
        const values = new Int32Array(start[rows.length] as number);
        rows.forEach((ids, row) => values.set(ids, start[row] as number));
        return { start, values };
      };
      const packed = {} as Record<FacetName, PackedColumn>;
      for (const facet of FACET_NAMES) packed[facet] = pack(this.columns[facet].rows);
      this.packedColumns = packed;
    }
    return this.packedColumns;
  }

  /** Each given filter as its facet's packed column and a lookup of the accepted value ids. */
  private filtersOf(filter: AttributeFilter): PackedFilter[] {
    const packed = this.packed();
    const filters: PackedFilter[] = [];
    for (const facet of FACET_NAMES) {
      const wanted = wantedValues(facet, filter);
      if (wanted === undefined) continue;
      const column = this.columns[facet];
      const accepts = new Uint8Array(column.dictionary.length);
      for (const value of wanted) {
        const id = column.ids.get(value);
        if (id !== undefined) accepts[id] = 1;
      }
      filters.push({ facet, ...packed[facet], accepts });
    }
    return filters;
  }

  /** Counts of the requested facets over the versions in scope that pass the filter (see FacetResult). */
  count(
    scope: IndexScope,
    filter: AttributeFilter,
    facets: readonly FacetName[],
    knownCategories: ReadonlySet<string>,
  ): FacetCounts {
    const filters = this.filtersOf(filter);
    const packed = this.packed();
    const filtered = new Set(filters.map((entry) => entry.facet));
    const tallies = facets.map((facet) => {
      const size = this.columns[facet].dictionary.length;
      return {
        facet,
        column: packed[facet],
        counts: new Int32Array(size),
        unfiltered: filtered.has(facet) ? new Int32Array(size) : undefined,
      };
    });
    // A version failing exactly filter k counts among the alternatives of k's facet (if requested).
    const alternatives = filters.map(({ facet }) => tallies.find((entry) => entry.facet === facet));
    const rows = this.inScope(scope);
    let total = 0;
    for (let at = 0; at < rows.length; at += 1) {
      const row = rows[at] as number;
      let failed = -1;
      let failures = 0;
      for (let k = 0; k < filters.length && failures < 2; k += 1) {
        if (!passes(filters[k] as PackedFilter, row)) {
          failed = k;
          failures += 1;
        }
      }
      if (failures === 0) {
        total += 1;
        for (const entry of tallies) {
          tally(entry.counts, entry.column, row);
          if (entry.unfiltered !== undefined) tally(entry.unfiltered, entry.column, row);
        }
      } else if (failures === 1) {
        const entry = alternatives[failed];
        if (entry?.unfiltered !== undefined) tally(entry.unfiltered, entry.column, row);
      }
    }
    const listed = (facet: FacetName, counts: Int32Array): FacetCount[] => {
      const dictionary = this.columns[facet].dictionary;
      const out: FacetCount[] = [];
      counts.forEach((count, id) => {
        const value = dictionary[id] as string;
        if (count > 0 && (facet !== "category" || knownCategories.has(value))) out.push({ value, count });
      });
      return out.sort(byCount);
    };
    const result: FacetCounts = { total, facets: {} };
    for (const { facet, counts, unfiltered } of tallies) {
      const entry: FacetResult = { counts: listed(facet, counts) };
      if (unfiltered !== undefined) entry.unfiltered = listed(facet, unfiltered);
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
      this.table.generation = generation;
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

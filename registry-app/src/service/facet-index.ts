import {
  byCount,
  FACET_NAMES,
  type AttributeFilter,
  type FacetCount,
  type FacetCounts,
  type FacetName,
  type FacetResult,
  type FacetRow,
} from "../store";
import { BatchedReads } from "./batched-reads";

/** A typed array at least `needed` long: `array` itself, or a copy of it in one half as long again. */
function atLeastLong<T extends Int32Array | Float64Array | Uint16Array | Uint8Array>(
  array: T,
  needed: number,
): T {
  if (array.length >= needed) return array;
  const grown = new (array.constructor as new (length: number) => T)(
    Math.max(needed, Math.ceil(array.length * 1.5)),
  );
  grown.set(array);
  return grown;
}

/** Strings interned as dense ids: `dictionary[id]` is the string, `ids` maps it back. */
class Interned {
  readonly dictionary: string[] = [];
  readonly ids = new Map<string, number>();

  idOf(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.dictionary.length;
      this.ids.set(value, id);
      this.dictionary.push(value);
    }
    return id;
  }
}

/**
 * One facet's values: a dictionary, and per version (position) the ids of its values, all in typed
 * arrays that reads walk directly. The ids of position p are values[start[p]] to
 * values[start[p] + count[p] - 1]. A change that fits is written in place, a longer one is appended;
 * the values left behind are compacted away once they are half of the array.
 */
class Column extends Interned {
  start = new Int32Array(256);
  count = new Uint16Array(256);
  values = new Int32Array(1024);
  /** Per value id, the positions holding it (once per time they hold it), in no order. */
  readonly postings: number[][] = [];
  private used = 0;
  private unused = 0;

  /** Sets the values of `position` (below `positions`, the table's size after the change). */
  set(position: number, positions: number, values: readonly string[]): void {
    // Categories are at most the taxonomy's 200, tags 20; only manual SQL could write more.
    if (values.length > 0xffff) throw new Error(`facet index: ${values.length} values for one version`);
    this.start = atLeastLong(this.start, positions);
    this.count = atLeastLong(this.count, positions);
    const had = this.count[position] as number;
    let at = this.start[position] as number;
    for (let old = at; old < at + had; old += 1) {
      const list = this.postings[this.values[old] as number] as number[];
      list[list.lastIndexOf(position)] = list[list.length - 1] as number;
      list.pop();
    }
    if (values.length > had) {
      this.values = atLeastLong(this.values, this.used + values.length);
      at = this.used;
      this.start[position] = at;
      this.used += values.length;
      this.unused += had;
    } else {
      this.unused += had - values.length;
    }
    for (const value of values) {
      const id = this.idOf(value);
      this.values[at++] = id;
      (this.postings[id] ??= []).push(position);
    }
    this.count[position] = values.length;
    if (this.unused > 4096 && this.unused * 2 > this.used) this.compact(positions);
  }

  private compact(positions: number): void {
    const values = new Int32Array(Math.max(1024, (this.used - this.unused) * 2));
    let at = 0;
    for (let position = 0; position < positions; position += 1) {
      const from = this.start[position] as number;
      const count = this.count[position] as number;
      values.set(this.values.subarray(from, from + count), at);
      this.start[position] = at;
      at += count;
    }
    this.values = values;
    this.used = at;
    this.unused = 0;
  }
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

/** A scope's positions in list order, and each facet's counts over them (built when first asked for). */
interface Scoped {
  rows: Int32Array;
  counts: Partial<Record<FacetName, Int32Array>>;
}

/** A filter over one facet: its column and the value ids it accepts that the column knows. */
interface ColumnFilter {
  facet: FacetName;
  column: Column;
  accepted: number[];
}

function tally(counts: Int32Array, column: Column, row: number): void {
  const from = column.start[row] as number;
  const end = from + (column.count[row] as number);
  for (let at = from; at < end; at += 1) {
    const id = column.values[at] as number;
    counts[id] = (counts[id] as number) + 1;
  }
}

// passMask keeps a bit per filter, at most one filter per facet, in a byte per version.
if (FACET_NAMES.length > 8) throw new Error("facet index: more facets than bits in a byte");

const DELETED = 1;
const LATEST = 2;

/**
 * The facet values of every version, column-wise with dictionary-encoded values in typed arrays, so
 * counting every facet of a request is one pass over the versions with no query. Versions are added or
 * replaced by id as changes arrive (rows are never deleted from server_versions, so neither are they
 * here). Per version it holds its id, an interned name, its version text, two flags, the value ids and
 * its place in each value's postings: about 0.24 KiB (BENCHMARKS.md). Per scope (include_deleted ×
 * version=latest) the positions in list order, and each facet's counts over the whole scope, are built
 * on the first read after a change, so a `version=latest` request walks only the latest versions.
 */
export class FacetTable {
  /**
   * The change generation the table was last refreshed at (set by FacetIndex together with the
   * rows): an answer built from the table is as of that generation.
   */
  generation: string | undefined;
  /**
   * The xmin of the snapshot the table was last refreshed in: a version written by a transaction with
   * an id below it is in the table as it is in the database (FacetIndex reads everything written from
   * the previous xmin on at each refresh).
   */
  xmin = 0n;
  private size_ = 0;
  /** Position of each version id. */
  private readonly positions = new Map<number, number>();
  /** Per position: the version's id, name (an index into `names`), version and flags. */
  private ids = new Float64Array(256);
  private nameOf = new Int32Array(256);
  private readonly versions: string[] = [];
  private flags = new Uint8Array(256);
  private readonly names = new Interned();
  /** Positions in (name, version) order, the order of list pages. */
  private readonly order: number[] = [];
  private readonly columns: Record<FacetName, Column> = {
    category: new Column(),
    tag: new Column(),
    registry_type: new Column(),
    transport: new Column(),
    status: new Column(),
    remote: new Column(),
  };
  private readonly scoped = new Map<string, Scoped>();
  /** Per position, a bit per filter it passes: scratch of passMask's callers, which run synchronously. */
  private passed = new Uint8Array(256);

  get size(): number {
    return this.size_;
  }

  /** Adds new versions and replaces the values of known ones. */
  apply(rows: readonly FacetRow[]): void {
    if (rows.length === 0) return;
    this.scoped.clear();
    const added: number[] = [];
    for (const row of rows) {
      const id = Number(row.id);
      // Identity ids: positive integers, far below 2^53 (each one is a stored version).
      if (!Number.isSafeInteger(id) || String(id) !== row.id)
        throw new Error(`facet index: version id ${row.id} is not a safe integer`);
      let position = this.positions.get(id);
      if (position === undefined) {
        position = this.size_;
        this.size_ += 1;
        this.positions.set(id, position);
        this.ids = atLeastLong(this.ids, this.size_);
        this.nameOf = atLeastLong(this.nameOf, this.size_);
        this.flags = atLeastLong(this.flags, this.size_);
        this.ids[position] = id;
        this.nameOf[position] = this.names.idOf(row.name);
        this.versions[position] = row.version;
        added.push(position);
      }
      this.flags[position] = (row.status === "deleted" ? DELETED : 0) | (row.is_latest ? LATEST : 0);
      const values = valuesOf(row);
      for (const facet of FACET_NAMES) this.columns[facet].set(position, this.size_, values[facet]);
    }
    // A few new versions (a publish) go in by binary search; a load is sorted once.
    if (added.length > 64) {
      for (const position of added) this.order.push(position);
      this.order.sort(
        (a, b) =>
          compareText(this.nameAt(a), this.nameAt(b)) ||
          compareText(this.versions[a] as string, this.versions[b] as string),
      );
    } else {
      for (const position of added) {
        const key = { name: this.nameAt(position), version: this.versions[position] as string };
        this.order.splice(this.firstAfter(this.order, key, true), 0, position);
      }
    }
  }

  /**
   * Ids of the first `limit` versions in scope that pass the filter, in (name, version) order, strictly
   * after `after` when given: a list page found without a query, to be read by id.
   */
  page(scope: IndexScope, filter: AttributeFilter, after: VersionKey | undefined, limit: number): string[] {
    const filters = this.filtersOf(filter);
    const passed = this.passMask(filters);
    const all = (1 << filters.length) - 1;
    const { rows } = this.inScope(scope);
    const ids: string[] = [];
    for (let at = after === undefined ? 0 : this.firstAfter(rows, after, false); at < rows.length; at += 1) {
      const row = rows[at] as number;
      if (((passed[row] as number) & all) !== all) continue;
      ids.push(String(this.ids[row]));
      if (ids.length === limit) break;
    }
    return ids;
  }

  private nameAt(position: number): string {
    return this.names.dictionary[this.nameOf[position] as number] as string;
  }

  /**
   * Position `position` against (name, version) in the order of the store's lists: byte order of both,
   * as the "C" collation sorts.
   */
  private compareAt(position: number, key: VersionKey): number {
    return (
      compareText(this.nameAt(position), key.name) ||
      compareText(this.versions[position] as string, key.version)
    );
  }

  /** The positions in scope, in (name, version) order, and the counts over them built so far. */
  private inScope(scope: IndexScope): Scoped {
    const key = `${scope.includeDeleted}/${scope.latestOnly}`;
    let scoped = this.scoped.get(key);
    if (scoped === undefined) {
      const rows = Int32Array.from(
        this.order.filter((row) => {
          const flags = this.flags[row] as number;
          return (
            (scope.includeDeleted || (flags & DELETED) === 0) && (!scope.latestOnly || (flags & LATEST) !== 0)
          );
        }),
      );
      scoped = { rows, counts: {} };
      this.scoped.set(key, scoped);
    }
    return scoped;
  }

  /** The counts of `facet` over every version in scope, built on first use. */
  private countedOverScope({ rows, counts }: Scoped, facet: FacetName): Int32Array {
    let counted = counts[facet];
    if (counted === undefined) {
      const column = this.columns[facet];
      counted = new Int32Array(column.dictionary.length);
      for (let at = 0; at < rows.length; at += 1) tally(counted, column, rows[at] as number);
      counts[facet] = counted;
    }
    return counted;
  }

  /** The first place in `rows` whose key is after `key` (or, `orEqual`, not before it): binary search. */
  private firstAfter(rows: ArrayLike<number>, key: VersionKey, orEqual: boolean): number {
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const compared = this.compareAt(rows[middle] as number, key);
      if (compared < 0 || (compared === 0 && !orEqual)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Each given filter as its facet's column and a lookup of the accepted value ids. */
  private filtersOf(filter: AttributeFilter): ColumnFilter[] {
    const filters: ColumnFilter[] = [];
    for (const facet of FACET_NAMES) {
      const wanted = wantedValues(facet, filter);
      if (wanted === undefined) continue;
      const column = this.columns[facet];
      const accepted: number[] = [];
      for (const value of wanted) {
        const id = column.ids.get(value);
        if (id !== undefined && !accepted.includes(id)) accepted.push(id);
      }
      filters.push({ facet, column, accepted });
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
    const scoped = this.inScope(scope);
    const { rows } = scoped;
    // Counts over the whole scope, kept until the next change: the answer without filters (a
    // catalogue's front page), and the alternatives of a lone filter (its first click).
    if (filters.length === 0) {
      const whole = facets.map((facet) => ({
        facet,
        counts: this.countedOverScope(scoped, facet),
        unfiltered: undefined,
      }));
      return this.counted(rows.length, whole, knownCategories);
    }
    const filtered = new Set(filters.map((entry) => entry.facet));
    const tallies = facets.map((facet) => {
      const size = this.columns[facet].dictionary.length;
      return {
        facet,
        column: this.columns[facet],
        counts: new Int32Array(size),
        unfiltered: !filtered.has(facet)
          ? undefined
          : filters.length === 1
            ? this.countedOverScope(scoped, facet)
            : new Int32Array(size),
      };
    });
    // A version failing exactly filter k counts among the alternatives of k's facet (if requested and
    // not counted over the scope already).
    const alternatives = filters.map(({ facet }) =>
      filters.length === 1 ? undefined : tallies.find((entry) => entry.facet === facet),
    );
    const passed = this.passMask(filters);
    const all = (1 << filters.length) - 1;
    let total = 0;
    for (let at = 0; at < rows.length; at += 1) {
      const row = rows[at] as number;
      const failed = all & ~(passed[row] as number);
      if (failed === 0) {
        total += 1;
        for (const entry of tallies) {
          tally(entry.counts, entry.column, row);
          // One filter: its facet's alternatives are the scope's counts (shared: never written here).
          if (entry.unfiltered !== undefined && filters.length > 1)
            tally(entry.unfiltered, entry.column, row);
        }
      } else if ((failed & (failed - 1)) === 0) {
        // Exactly one filter failed: bit k.
        const entry = alternatives[31 - Math.clz32(failed)];
        if (entry?.unfiltered !== undefined) tally(entry.unfiltered, entry.column, row);
      }
    }
    return this.counted(total, tallies, knownCategories);
  }

  /**
   * Bit k of position p: version p passes filter k. Found from the postings of the accepted values,
   * so the work is the versions holding them, not every version times every filter. The array is
   * scratch, valid until the next call.
   */
  private passMask(filters: readonly ColumnFilter[]): Uint8Array {
    const passed = (this.passed = atLeastLong(this.passed, this.size_));
    passed.fill(0, 0, this.size_);
    filters.forEach(({ column, accepted }, k) => {
      for (const id of accepted)
        for (const position of column.postings[id] ?? [])
          passed[position] = (passed[position] as number) | (1 << k);
    });
    return passed;
  }

  /** The answer: each requested facet's non-zero counts, most first (categories of the taxonomy only). */
  private counted(
    total: number,
    tallies: ReadonlyArray<{ facet: FacetName; counts: Int32Array; unfiltered: Int32Array | undefined }>,
    knownCategories: ReadonlySet<string>,
  ): FacetCounts {
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
  /** Refreshes, one at a time: a request waits for the one not yet started, concurrent ones share it. */
  private readonly refreshes = new BatchedReads(() => this.refresh(), 1);

  constructor(
    private readonly generation: () => Promise<string>,
    /** Hands over the versions written since an xmin ("0": all, perhaps in parts); resolves to its snapshot's xmin. */
    private readonly changes: (since: string, take: (rows: readonly FacetRow[]) => void) => Promise<string>,
  ) {}

  /** The table, current for a request arriving now. */
  async current(): Promise<FacetTable> {
    const generation = await this.generation();
    if (this.refreshed === undefined || !atLeast(this.refreshed.generation, generation))
      await this.refreshes.get([]);
    return this.table;
  }

  /**
   * Every version, into a new table that replaces the current one only once it holds all of them
   * (a full load may arrive in several parts); resolves to the snapshot's xmin.
   */
  private async load(): Promise<string> {
    const table = new FacetTable();
    const xmin = await this.changes("0", (rows) => table.apply(rows));
    this.table = table;
    return xmin;
  }

  /** Reads what changed since the last refresh (everything, the first time) into the table. */
  private async refresh(): Promise<void> {
    // The generation before the rows: the rows then hold at least what it stands for.
    const generation = await this.generation();
    const previous = this.refreshed;
    let xmin: string;
    if (previous === undefined) {
      xmin = await this.load();
    } else {
      const changed: FacetRow[] = [];
      xmin = await this.changes(previous.xmin, (rows) => {
        for (const row of rows) changed.push(row);
      });
      // Transaction ids went back: a database restored under a running process. Start over.
      if (BigInt(xmin) < BigInt(previous.xmin)) xmin = await this.load();
      else this.table.apply(changed);
    }
    this.table.generation = generation;
    this.table.xmin = BigInt(xmin);
    this.refreshed = { generation, xmin };
  }
}

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

/** One facet's column: a dictionary of its values and each version's value ids (CSR layout). */
interface Column {
  dictionary: string[];
  ids: Map<string, number>;
  /** Version i's value ids are values[offsets[i] .. offsets[i + 1]). */
  offsets: Uint32Array;
  values: Uint32Array;
}

function column(rows: readonly FacetRow[], pick: (row: FacetRow) => readonly string[]): Column {
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

/** Which values of a facet a filter accepts: a lookup table over the facet's value ids. */
function acceptTable(column: Column, wanted: readonly string[]): Uint8Array {
  const table = new Uint8Array(column.dictionary.length);
  for (const value of wanted) {
    const id = column.ids.get(value);
    if (id !== undefined) table[id] = 1;
  }
  return table;
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

export interface IndexScope {
  includeDeleted: boolean;
  latestOnly: boolean;
}

/**
 * The facet columns of every version, column-wise in typed arrays (status and remote too, as
 * one-value columns), with the versions of each scope listed once: counting every facet of a request
 * is one pass over the versions in scope, in memory. Immutable: the database at one generation.
 */
export class FacetSnapshot {
  readonly size: number;
  private readonly columns: Record<FacetName, Column>;
  /** Versions in each scope: [includeDeleted][latestOnly]. */
  private readonly scopes: Uint32Array[][];

  constructor(rows: readonly FacetRow[]) {
    this.size = rows.length;
    this.columns = {
      category: column(rows, (row) => row.categories),
      tag: column(rows, (row) => row.tags),
      registry_type: column(rows, (row) => row.registry_types),
      transport: column(rows, (row) => row.transports),
      status: column(rows, (row) => [row.status]),
      remote: column(rows, (row) => [String(row.has_remote)]),
    };
    const scope = (includeDeleted: boolean, latestOnly: boolean) => {
      const members: number[] = [];
      rows.forEach((row, index) => {
        if ((includeDeleted || row.status !== "deleted") && (!latestOnly || row.is_latest))
          members.push(index);
      });
      return Uint32Array.from(members);
    };
    this.scopes = [
      [scope(false, false), scope(false, true)],
      [scope(true, false), scope(true, true)],
    ];
  }

  /** Bytes held by the typed arrays and dictionaries, roughly. */
  get bytes(): number {
    let bytes = 0;
    for (const list of this.scopes.flat()) bytes += list.byteLength;
    for (const facet of FACET_NAMES) {
      const { offsets, values, dictionary } = this.columns[facet];
      bytes += offsets.byteLength + values.byteLength;
      for (const value of dictionary) bytes += 48 + value.length * 2;
    }
    return bytes;
  }

  /** Counts of the requested facets over the versions in scope that pass the filter (see FacetResult). */
  count(
    scope: IndexScope,
    filter: AttributeFilter,
    facets: readonly FacetName[],
    knownCategories: ReadonlySet<string>,
  ): FacetCounts {
    const filters: Array<{ facet: FacetName; column: Column; accepts: Uint8Array }> = [];
    for (const facet of FACET_NAMES) {
      const wanted = wantedValues(facet, filter);
      if (wanted !== undefined) {
        const target = this.columns[facet];
        filters.push({ facet, column: target, accepts: acceptTable(target, wanted) });
      }
    }
    const filtered = new Set(filters.map((entry) => entry.facet));
    const tallies = facets.map((facet) => {
      const source = this.columns[facet];
      return {
        facet,
        source,
        counts: new Int32Array(source.dictionary.length),
        unfiltered: filtered.has(facet) ? new Int32Array(source.dictionary.length) : undefined,
      };
    });
    // For a version that fails exactly filter k: the tally of k's facet, if requested.
    const alternativesOf = filters.map(
      ({ facet }) => tallies.find((tally) => tally.facet === facet)?.unfiltered,
    );
    const members = this.scopes[scope.includeDeleted ? 1 : 0]?.[scope.latestOnly ? 1 : 0] as Uint32Array;
    let total = 0;
    for (let m = 0; m < members.length; m += 1) {
      const row = members[m] as number;
      let failed = -1;
      let failures = 0;
      for (let k = 0; k < filters.length && failures < 2; k += 1) {
        const { column: source, accepts } = filters[k] as (typeof filters)[number];
        let pass = false;
        for (let at = source.offsets[row] as number; at < (source.offsets[row + 1] as number); at += 1)
          if (accepts[source.values[at] as number] === 1) {
            pass = true;
            break;
          }
        if (!pass) {
          failed = k;
          failures += 1;
        }
      }
      if (failures === 0) {
        total += 1;
        for (const tally of tallies) {
          tallyRow(tally.counts, tally.source, row);
          if (tally.unfiltered !== undefined) tallyRow(tally.unfiltered, tally.source, row);
        }
      } else if (failures === 1) {
        const alternatives = alternativesOf[failed];
        if (alternatives !== undefined)
          tallyRow(alternatives, this.columns[(filters[failed] as (typeof filters)[number]).facet], row);
      }
    }
    const listed = (facet: FacetName, source: Column, counts: Int32Array): FacetCount[] => {
      const out: FacetCount[] = [];
      counts.forEach((count, id) => {
        const value = source.dictionary[id] as string;
        if (count > 0 && (facet !== "category" || knownCategories.has(value))) out.push({ value, count });
      });
      return out.sort(byCount);
    };
    const result: FacetCounts = { total, facets: {} };
    for (const { facet, source, counts, unfiltered } of tallies) {
      const entry: FacetResult = { counts: listed(facet, source, counts) };
      if (unfiltered !== undefined) entry.unfiltered = listed(facet, source, unfiltered);
      result.facets[facet] = entry;
    }
    return result;
  }
}

function tallyRow(counts: Int32Array, source: Column, row: number): void {
  for (let at = source.offsets[row] as number; at < (source.offsets[row + 1] as number); at += 1) {
    const id = source.values[at] as number;
    counts[id] = (counts[id] as number) + 1;
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

/** Time between the starts of two snapshot loads, at least: writes in bursts cost one load, not one each. */
export const MIN_RELOAD_INTERVAL_MS = 500;

/**
 * A FacetSnapshot kept at the database's change generation. A request learns the generation from a
 * read that started after it arrived (shared with concurrent requests, as the read cache does); a
 * snapshot loaded at that generation or later answers it. Otherwise `current` answers undefined, so
 * the caller counts in SQL, and a new snapshot loads in the background: never staler than a query,
 * and under steady writes no worse than counting in SQL, plus at most one load per interval.
 */
export class FacetIndex {
  private snapshot: { generation: string; value: FacetSnapshot } | undefined;
  private loading = false;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly generation: () => Promise<string>,
    private readonly load: () => Promise<FacetRow[]>,
    private readonly minIntervalMs = MIN_RELOAD_INTERVAL_MS,
  ) {}

  /** The snapshot if it is current for a request arriving now; undefined (and a load under way) if not. */
  async current(): Promise<FacetSnapshot | undefined> {
    const generation = await this.generation();
    if (this.snapshot !== undefined && atLeast(this.snapshot.generation, generation))
      return this.snapshot.value;
    this.reload();
    return undefined;
  }

  /** Starts one load unless one is running; within the interval of the last, schedules it for then. */
  private reload(): void {
    if (this.loading || this.timer !== undefined) return;
    const wait = this.lastStart + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.reload();
      }, wait);
      this.timer.unref();
      return;
    }
    this.loading = true;
    this.lastStart = Date.now();
    void (async () => {
      try {
        // The generation first: the rows read after it hold at least what it stands for.
        const generation = await this.generation();
        const value = new FacetSnapshot(await this.load());
        if (this.snapshot === undefined || !atLeast(this.snapshot.generation, generation))
          this.snapshot = { generation, value };
      } catch {
        // Requests count in SQL meanwhile (and report it); the next one that needs a load starts it.
      } finally {
        this.loading = false;
      }
    })();
  }

  /** Stops a scheduled load (process shutdown, tests). */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

import semver from "semver";

/** What ordering versions of one name needs: the version string and when it was published. */
export interface VersionFacts {
  id: string;
  version: string;
  publishedAt: Date;
  status?: string;
}

function publishOrder(a: VersionFacts, b: VersionFacts): number {
  const byTime = a.publishedAt.getTime() - b.publishedAt.getTime();
  if (byTime !== 0) return byTime;
  const [x, y] = [BigInt(a.id), BigInt(b.id)];
  return x === y ? 0 : x > y ? 1 : -1;
}

/**
 * Sign of `a` against `b` by version alone: semver against semver by precedence, semver beats
 * non-semver; 0 (two non-semver, or equal precedence) leaves it to publish time.
 */
export function precedence(a: string, b: string): number {
  const [sa, sb] = [semver.parse(a), semver.parse(b)];
  if (sa && sb) return sa.compare(sb);
  if (sa) return 1;
  if (sb) return -1;
  return 0;
}

/**
 * > 0 when `a` is the greater version: semver against semver by precedence, semver beats non-semver,
 * and anything else (two non-semver, or equal precedence) by publish time.
 */
export function compareVersions(a: VersionFacts, b: VersionFacts): number {
  return precedence(a.version, b.version) || publishOrder(a, b);
}

/**
 * [major, minor, patch] of a semver version without a prerelease (build metadata does not order), which
 * the database can order against a plain MAJOR.MINOR.PATCH latest by itself; undefined otherwise.
 */
export function plainSemverMain(version: string): number[] | undefined {
  const parsed = semver.parse(version);
  return parsed && parsed.prerelease.length === 0 ? [parsed.major, parsed.minor, parsed.patch] : undefined;
}

export function highest<T extends VersionFacts>(rows: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const row of rows) {
    if (best === undefined || compareVersions(row, best) > 0) best = row;
  }
  return best;
}

/** The latest version of a name: the highest non-deleted one, or the highest of all when every one is deleted. */
export function chooseLatest<T extends VersionFacts>(rows: readonly T[]): T | undefined {
  return highest(rows.filter((row) => row.status !== "deleted")) ?? highest(rows);
}

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
 * > 0 when `a` is the greater version: semver against semver by precedence, semver beats non-semver,
 * and anything else (two non-semver, or equal precedence) by publish time.
 */
export function compareVersions(a: VersionFacts, b: VersionFacts): number {
  const [sa, sb] = [semver.parse(a.version), semver.parse(b.version)];
  if (sa && sb) {
    const byPrecedence = sa.compare(sb);
    if (byPrecedence !== 0) return byPrecedence;
  } else if (sa) {
    return 1;
  } else if (sb) {
    return -1;
  }
  return publishOrder(a, b);
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

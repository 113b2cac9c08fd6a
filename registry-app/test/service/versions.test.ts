import assert from "node:assert/strict";
import { chooseLatest, compareVersions, type VersionFacts } from "../../src/service";

let id = 0;
function v(version: string, publishedAt: string, status = "active"): VersionFacts {
  id += 1;
  return { id: String(id), version, publishedAt: new Date(publishedAt), status };
}

const EARLY = "2025-01-01T00:00:00Z";
const LATE = "2025-06-01T00:00:00Z";

describe("service: version ordering (isLatest rules)", () => {
  const cases: Array<[string, VersionFacts, VersionFacts, 1 | -1]> = [
    ["semver by precedence, not publish time", v("2.0.0", EARLY), v("1.9.9", LATE), 1],
    ["numeric, not lexical, components", v("1.10.0", EARLY), v("1.9.0", LATE), 1],
    ["a release beats its prerelease", v("2.0.0", EARLY), v("2.0.0-rc.1", LATE), 1],
    ["prereleases by precedence", v("2.0.0-beta.11", EARLY), v("2.0.0-beta.2", LATE), 1],
    ["semver beats non-semver, even published later", v("0.0.1", EARLY), v("zzz-2025", LATE), 1],
    ["semver beats a date-like non-semver", v("1.0.0", EARLY), v("2025.06.01", LATE), 1],
    ["two non-semver versions by publish time", v("zeta", LATE), v("alpha", EARLY), 1],
    [
      "equal precedence (build metadata) by publish time",
      v("1.0.0+build.1", LATE),
      v("1.0.0+build.2", EARLY),
      1,
    ],
  ];
  for (const [label, greater, smaller] of cases) {
    it(label, () => {
      assert.ok(compareVersions(greater, smaller) > 0, `${greater.version} > ${smaller.version}`);
      assert.ok(compareVersions(smaller, greater) < 0, `${smaller.version} < ${greater.version}`);
    });
  }

  it("breaks a publish-time tie by insertion order", () => {
    const first = v("nightly-a", EARLY);
    const second = v("nightly-b", EARLY);
    assert.ok(compareVersions(second, first) > 0);
  });

  it("chooses the highest non-deleted version, or the highest of all when every one is deleted", () => {
    const rows = [v("1.0.0", EARLY), v("3.0.0", EARLY, "deleted"), v("2.0.0", EARLY, "deprecated")];
    assert.equal(chooseLatest(rows)?.version, "2.0.0");
    const allDeleted = rows.map((row) => ({ ...row, status: "deleted" }));
    assert.equal(chooseLatest(allDeleted)?.version, "3.0.0");
    assert.equal(chooseLatest([]), undefined);
  });
});

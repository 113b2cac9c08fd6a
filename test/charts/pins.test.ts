// What is tested is what is deployed: every chart pin in infra/versions.ts equals a packaged chart in
// ../shared/charts (file name, Chart.yaml inside the archive, and the sha256 its INDEX.md records).
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { archivePath, archiveProblems, readArchiveChart } from "../../infra/platform/chart-archive";
import { charts } from "../../infra/versions";
import { SHARED_CHARTS, requireSharedCharts } from "./fixtures";

/** `<sha256>  <file>` lines of INDEX.md's checksum block. */
function indexChecksums(): Map<string, string> {
  const text = fs.readFileSync(path.join(SHARED_CHARTS, "INDEX.md"), "utf8");
  const sums = new Map<string, string>();
  for (const match of text.matchAll(/^([a-f0-9]{64})\s+(\S+\.tgz)$/gm)) sums.set(match[2]!, match[1]!);
  return sums;
}

describe("charts: pins equal the packaged charts in ../shared/charts", function () {
  before(function () {
    requireSharedCharts(this);
  });

  for (const [key, pin] of Object.entries(charts)) {
    it(`${key}: ${pin.chart} ${pin.version} is packaged, with the checksum INDEX.md records`, () => {
      const file = archivePath(SHARED_CHARTS, pin);
      assert.ok(fs.existsSync(file), `${key} is pinned to ${pin.version}, but ${file} does not exist`);
      assert.deepEqual(readArchiveChart(file), { name: pin.chart, version: pin.version });
      const recorded = indexChecksums().get(path.basename(file));
      assert.ok(recorded, `INDEX.md records no sha256 for ${path.basename(file)}`);
      const actual = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
      assert.equal(actual, recorded, `${path.basename(file)} differs from the archive INDEX.md describes`);
    });
  }

  it("a directory chart source refuses a missing archive and an archive of another version", () => {
    assert.deepEqual(archiveProblems(SHARED_CHARTS, Object.values(charts)), []);
    const wrong = { ...charts.k8up, version: "4.8.5" };
    assert.deepEqual(archiveProblems(SHARED_CHARTS, [wrong]), [
      `${archivePath(SHARED_CHARTS, wrong)} is missing (helm pull k8up --version 4.8.5 into it)`,
    ]);
    assert.deepEqual(archiveProblems(path.join(SHARED_CHARTS, "nowhere"), [charts.k8up]), [
      `folder ${path.join(SHARED_CHARTS, "nowhere")} does not exist`,
    ]);
  });
});

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { loadDataset, scaleDataset, searchQueries } from "../../bench/dataset";
import { systemCaller } from "../../src/service";
import { DATASET } from "../support/conformance";
import { testRegistry, type TestRegistry } from "../support/registry";

/**
 * The read answers on the real dataset, compared with what the build before the read-path rework
 * (commit b80a4df) answered: every page of three cursor walks, 60 searches, the versions of 100 names
 * and the latest of every name, byte for byte except timestamps. The golden file holds digests that
 * build produced with RECORD_DATASET_ANSWERS=1 (same data, same statuses, same requests); walks and
 * searches re-recorded with cursors masked on 5c15c9c (which matched b80a4df unmasked): this build's digests.
 */
const GOLDEN = path.join(__dirname, "dataset-answers.golden.json");

interface Golden {
  versions: number;
  names: number;
  pages: number;
  digests: Record<string, string>;
}

/**
 * Timestamps differ between runs; everything else of an answer must not, except cursors: since
 * issue 13 they carry a digest of their request's filters (the walks still follow them page by page).
 */
function masked(body: string): string {
  return body
    .replace(/"(statusChangedAt|publishedAt|updatedAt)":"[^"]+"/g, '"$1":"T"')
    .replace(/"nextCursor":"[^"]+"/g, '"nextCursor":"C"');
}

describe("http: answers on the real dataset are unchanged", function () {
  this.timeout(300_000);
  let registry: TestRegistry;
  let names: string[];
  let versions: number;
  let source: unknown[];

  before(async function () {
    if (!fs.existsSync(DATASET)) {
      console.warn(`    (skipped: ${DATASET} is absent)`);
      this.skip();
    }
    source = loadDataset(DATASET);
    // The documents the golden build published: without issue 13's declared categories and tags.
    const scaled = scaleDataset(source, { copies: 1, minVersions: 3, maxVersions: 5, classified: false });
    names = scaled.names;
    versions = scaled.documents.length;
    registry = await testRegistry("dataset_answers");
    const report = await registry.runtime.ingestor.publishAll(
      scaled.documents.map((document, index) => ({ origin: `scaled[${index}]`, document })),
      "test",
    );
    assert.equal(report.published, versions);
    // Statuses too: deprecated latest versions (a message with characters JSON must escape) and
    // names whose versions are all deleted.
    const admin = systemCaller("test");
    const service = registry.runtime.service;
    for (const [index, name] of names.entries()) {
      if (index % 13 === 4) {
        await service.setStatus(admin, name, "latest", {
          status: "deprecated",
          statusMessage: `use ${name}-next "soon" \\ tab\there\nnewline \u0001 é 🚀`,
        });
      }
      if (index % 29 === 7) await service.setStatusAll(admin, name, { status: "deleted" });
    }
  });
  after(async () => registry?.close());

  async function answer(url: string): Promise<string> {
    const response = await registry.app.inject({ method: "GET", url });
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    return response.body;
  }

  async function walk(query: string): Promise<string[]> {
    const bodies: string[] = [];
    let cursor: string | undefined;
    do {
      const suffix = cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const body = await answer(`/v0.1/servers?${query}${suffix}`);
      bodies.push(masked(body));
      cursor = (JSON.parse(body) as { metadata: { nextCursor?: string } }).metadata.nextCursor;
    } while (cursor !== undefined);
    return bodies;
  }

  it("walks, searches, lists versions and reads latest exactly as before", async () => {
    const digest = (parts: string[]) => createHash("sha256").update(parts.join("\n")).digest("hex");
    const walks = [
      ...(await walk("limit=100")),
      ...(await walk("limit=100&version=latest")),
      ...(await walk("limit=100&include_deleted=true")),
    ];
    const searches: string[] = [];
    for (const query of searchQueries(source, 60, 7)) {
      searches.push(masked(await answer(`/v0.1/servers?search=${encodeURIComponent(query)}`)));
      searches.push(
        masked(await answer(`/v0.1/servers?search=${encodeURIComponent(query)}&version=latest&limit=100`)),
      );
    }
    const sample = names.filter((_, index) => index % 5 === 0).slice(0, 100);
    const versionLists: string[] = [];
    for (const name of sample) {
      versionLists.push(
        masked(await answer(`/v0.1/servers/${encodeURIComponent(name)}/versions?include_deleted=true`)),
      );
    }
    const latest: string[] = [];
    for (const name of names) {
      const response = await registry.app.inject({
        method: "GET",
        url: `/v0.1/servers/${encodeURIComponent(name)}/versions/latest?include_deleted=true`,
      });
      latest.push(`${response.statusCode} ${masked(response.body)}`);
    }
    const measured: Golden = {
      versions,
      names: names.length,
      pages: walks.length,
      digests: {
        walks: digest(walks),
        searches: digest(searches),
        versionLists: digest(versionLists),
        latest: digest(latest),
      },
    };
    if (process.env.RECORD_DATASET_ANSWERS === "1") {
      fs.writeFileSync(GOLDEN, `${JSON.stringify(measured, null, 2)}\n`);
      return;
    }
    const golden = JSON.parse(fs.readFileSync(GOLDEN, "utf8")) as Golden;
    assert.deepEqual(measured, golden);
  });
});

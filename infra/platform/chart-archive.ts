// Air-gapped chart sources: where each pinned chart comes from (its public repository, a folder of `helm package`
// archives, or an internal OCI registry), and a check that a local archive really is the pinned version.
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse as parseYaml } from "yaml";
import type { PinnedChart } from "../versions";

export type ChartSource =
  | { readonly kind: "repository" }
  | { readonly kind: "directory"; readonly path: string }
  | { readonly kind: "oci"; readonly baseUrl: string };

/** The Helm release's chart reference and repository options for a pinned chart from a source. */
export function chartReference(
  chart: PinnedChart,
  source: ChartSource,
): { chart: string; repositoryOpts?: { repo: string } } {
  switch (source.kind) {
    case "directory":
      return { chart: archivePath(source.path, chart) };
    case "oci":
      return { chart: `${source.baseUrl.replace(/\/+$/, "")}/${chart.chart}` };
    case "repository":
      return chart.repo.startsWith("oci://")
        ? { chart: `${chart.repo.replace(/\/$/, "")}/${chart.chart}` }
        : { chart: chart.chart, repositoryOpts: { repo: chart.repo } };
  }
}

/** `<folder>/<chart>-<version>.tgz`, the name `helm package` gives an archive. */
export function archivePath(folder: string, chart: PinnedChart): string {
  return path.join(folder, `${chart.chart}-${chart.version}.tgz`);
}

/** The files of a `helm package` archive (a gzipped tar), by path, read until `wanted` says stop. */
function readTar(file: string, wanted: (name: string) => boolean): Map<string, Buffer> {
  const tar = gunzipSync(fs.readFileSync(file));
  const found = new Map<string, Buffer>();
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const body = offset + 512;
    if (wanted(name)) found.set(name, tar.subarray(body, body + size));
    offset = body + Math.ceil(size / 512) * 512;
  }
  return found;
}

/** One file of a `helm package` archive, by its path below the chart's folder (e.g. `files/crds-bundle.yaml`). */
export function readArchiveFile(file: string, pathInChart: string): Buffer | undefined {
  const [content] = readTar(file, (name) => name.split("/").slice(1).join("/") === pathInChart).values();
  return content;
}

/** `name` and `version` from the Chart.yaml at the top of a `helm package` archive. */
export function readArchiveChart(file: string): { name: string; version: string } {
  const content = readArchiveFile(file, "Chart.yaml");
  if (content === undefined) throw new Error(`${file} has no <chart>/Chart.yaml: not a helm package archive`);
  const chart = parseYaml(content.toString("utf8")) as { name?: unknown; version?: unknown };
  return { name: String(chart.name ?? ""), version: String(chart.version ?? "") };
}

/** One problem per pinned chart whose archive is missing from `folder` or is another chart or version. */
export function archiveProblems(folder: string, pinned: readonly PinnedChart[]): string[] {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory())
    return [`folder ${folder} does not exist`];
  const problems: string[] = [];
  for (const chart of pinned) {
    const file = archivePath(folder, chart);
    if (!fs.existsSync(file)) {
      problems.push(`${file} is missing (helm pull ${chart.chart} --version ${chart.version} into it)`);
      continue;
    }
    try {
      const found = readArchiveChart(file);
      if (found.name !== chart.chart || found.version !== chart.version)
        problems.push(
          `${file} holds ${found.name} ${found.version}, but ${chart.chart} ${chart.version} is pinned`,
        );
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  return problems;
}

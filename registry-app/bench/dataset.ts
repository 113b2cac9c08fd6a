import fs from "node:fs";
import path from "node:path";
import { validateServerJson } from "../src/schema";
import { seededRandom } from "../test/support/random";
import { withClassification } from "./classification";

/**
 * The real catalogue the benchmark scales up (464 servers of the official registry's May 2025 seed),
 * beside the repository, or BENCH_DATASET (a checkout elsewhere, such as a git worktree).
 */
export const DATASET_PATH =
  process.env.BENCH_DATASET ?? path.resolve(__dirname, "../../../shared/datasets/servers-2025-05.json");

export interface ScaleOptions {
  /** Names per dataset server: the original plus copies suffixed -c1, -c2, ... */
  copies: number;
  /** Versions per name range over minVersions..maxVersions, chosen deterministically per name. */
  minVersions: number;
  maxVersions: number;
  /** Declare categories and tags from each description (issue 13); default true. */
  classified?: boolean;
}

export const DEFAULT_SCALE: ScaleOptions = { copies: 4, minVersions: 3, maxVersions: 9 };

type Document = Record<string, unknown>;

function isRecord(value: unknown): value is Document {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Fisher-Yates with a seeded PRNG. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The j-th version of a name: mostly semver in publish order, a date-like non-semver now and then. */
function versionAt(j: number, nameIndex: number): string {
  if (nameIndex % 17 === 5 && j % 3 === 2) return `2025.${String(j + 1).padStart(2, "0")}.01-build`;
  return `${1 + Math.floor(j / 4)}.${j % 4}.${nameIndex % 3}`;
}

/** A remote URL made unique per copy: remote URLs belong to one server name for good. */
function copyRemoteUrl(url: string, copy: number): string {
  if (copy === 0) return url;
  const [base = url, query] = url.split("?", 2);
  return `${base.replace(/\/+$/, "")}/c${copy}${query === undefined ? "" : `?${query}`}`;
}

function withVersion(source: Document, name: string, version: string, copy: number): Document {
  const document: Document = { ...source, name, version };
  if (Array.isArray(source.packages)) {
    document.packages = source.packages.map((item) => (isRecord(item) ? { ...item, version } : item));
  }
  if (Array.isArray(source.remotes)) {
    document.remotes = source.remotes.map((item) =>
      isRecord(item) && typeof item.url === "string" ? { ...item, url: copyRemoteUrl(item.url, copy) } : item,
    );
  }
  return document;
}

export interface ScaledDataset {
  /** Every document in publish order: names grouped, versions ascending within a name. */
  documents: Document[];
  names: string[];
}

/**
 * Scales the real dataset deterministically: each server under its own name and `copies - 1` suffixed
 * names, each name with a per-name number of versions. Every document is validated here, so an
 * import that stores fewer than documents.length versions is a bug, not bad data.
 */
export function scaleDataset(source: unknown[], options: ScaleOptions = DEFAULT_SCALE): ScaledDataset {
  const documents: Document[] = [];
  const names: string[] = [];
  const span = options.maxVersions - options.minVersions + 1;
  source.forEach((item, serverIndex) => {
    if (!isRecord(item) || typeof item.name !== "string")
      throw new Error(`dataset entry ${serverIndex} has no name`);
    for (let copy = 0; copy < options.copies; copy += 1) {
      const name = copy === 0 ? item.name : `${item.name}-c${copy}`;
      const nameIndex = serverIndex * options.copies + copy;
      const count = options.minVersions + ((serverIndex * 7 + copy * 3) % span);
      names.push(name);
      for (let j = 0; j < count; j += 1) {
        // Categories and tags as a publisher would declare them, from the description (issue 13).
        const versioned = withVersion(item, name, versionAt(j, nameIndex), copy);
        const document = options.classified === false ? versioned : withClassification(versioned);
        const result = validateServerJson(document);
        if (result.server === undefined) {
          const first = result.issues.find((issue) => issue.severity === "error");
          throw new Error(
            `scaled document ${name}@${String(document.version)} is invalid: ${first?.path} ${first?.message}`,
          );
        }
        documents.push(document);
      }
    }
  });
  return { documents, names };
}

export function loadDataset(file = DATASET_PATH): unknown[] {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!Array.isArray(parsed)) throw new Error(`${file} is not a JSON array`);
  return parsed;
}

/** Words of the dataset's descriptions and names, for search queries that resemble real ones. */
export function searchQueries(source: unknown[], count: number, seed: number): string[] {
  const words = new Map<string, number>();
  for (const item of source) {
    if (!isRecord(item)) continue;
    const text = `${String(item.description ?? "")} ${String(item.name ?? "").split("/")[1] ?? ""}`;
    for (const word of text.toLowerCase().match(/[a-z][a-z0-9]{3,}/g) ?? [])
      words.set(word, (words.get(word) ?? 0) + 1);
  }
  // Words that occur a few times or more: what people search for, not one-off tokens.
  const common = [...words.entries()]
    .filter(([, n]) => n >= 3)
    .map(([word]) => word)
    .sort();
  const random = seededRandom(seed);
  const pick = () => common[Math.floor(random() * common.length)] as string;
  const queries = new Set<string>();
  while (queries.size < count) {
    const kind = random();
    if (kind < 0.6) queries.add(pick());
    else if (kind < 0.9) queries.add(`${pick()} ${pick()}`);
    else queries.add(pick().slice(0, 4)); // search-as-you-type prefix
  }
  return [...queries];
}

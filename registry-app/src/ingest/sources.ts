import fs from "node:fs/promises";
import path from "node:path";
import { getJson } from "../auth/outbound";
import { OFFICIAL_META_KEY } from "../schema";

/** Outbound limits of seed and sync: generous, but bounded. */
export const FETCH_TIMEOUT_MS = 30_000;
export const FETCH_MAX_BYTES = 64 * 1024 * 1024;
/** Page size used against upstream registries. */
const UPSTREAM_PAGE = 100;
/** Refuse to follow an upstream forever (a misbehaving cursor). */
const MAX_UPSTREAM_PAGES = 100_000;

/** One document to ingest plus, from registries, the upstream's view of it. */
export interface SourceEntry {
  /** Where it came from, for logs: "file.json[3]" or "https://up/v0.1/servers page 2". */
  origin: string;
  document: unknown;
  upstream?: { status?: string; statusMessage?: string; updatedAt?: string };
}

export interface Fetcher {
  fetch: typeof fetch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A registry list item `{server, _meta}` or a bare server.json. */
function toEntry(item: unknown, origin: string): SourceEntry {
  if (isRecord(item) && isRecord(item.server)) {
    const meta = isRecord(item._meta) ? item._meta[OFFICIAL_META_KEY] : undefined;
    const official = isRecord(meta) ? meta : {};
    return {
      origin,
      document: item.server,
      upstream: {
        status: typeof official.status === "string" ? official.status : undefined,
        statusMessage: typeof official.statusMessage === "string" ? official.statusMessage : undefined,
        updatedAt: typeof official.updatedAt === "string" ? official.updatedAt : undefined,
      },
    };
  }
  return { origin, document: item };
}

/** The documents of one parsed JSON value: an array, a registry list page, or one document. */
export function entriesOf(value: unknown, origin: string): SourceEntry[] {
  if (Array.isArray(value)) return value.map((item, index) => toEntry(item, `${origin}[${index}]`));
  if (isRecord(value) && Array.isArray(value.servers)) {
    return value.servers.map((item, index) => toEntry(item, `${origin} servers[${index}]`));
  }
  return [toEntry(value, origin)];
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = await fs.readFile(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await jsonFilesUnder(full)));
    else if (entry.isFile() && entry.name.endsWith(".json")) found.push(full);
  }
  return found.sort();
}

/**
 * GitOps import: a file (array, list page or one document) or a directory searched recursively for
 * *.json, in sorted path order so re-runs publish in the same order.
 */
export async function* readPath(target: string): AsyncGenerator<SourceEntry> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (stat === undefined) throw new Error(`${target} does not exist`);
  const files = stat.isDirectory() ? await jsonFilesUnder(target) : [target];
  for (const file of files) {
    const origin = path.relative(process.cwd(), file) || file;
    yield* entriesOf(await readJsonFile(file), origin);
  }
}

/** Pages through `<base>/v0.1/servers` (plus extra query parameters) until no nextCursor is returned. */
export async function* readRegistry(
  base: string,
  fetcher: Fetcher,
  query: Record<string, string> = {},
): AsyncGenerator<SourceEntry> {
  const root = base.replace(/\/+$/, "");
  let cursor: string | undefined;
  for (let page = 1; page <= MAX_UPSTREAM_PAGES; page += 1) {
    const params = new URLSearchParams({ ...query, limit: String(UPSTREAM_PAGE) });
    if (cursor !== undefined) params.set("cursor", cursor);
    const url = `${root}/v0.1/servers?${params.toString()}`;
    const body = await getJson(fetcher.fetch, url, {
      timeoutMs: FETCH_TIMEOUT_MS,
      maxBytes: FETCH_MAX_BYTES,
    }).catch((error: unknown) => {
      throw new Error(`GET ${url} failed: ${(error as Error).message}`);
    });
    if (!isRecord(body) || !Array.isArray(body.servers)) {
      throw new Error(`GET ${url} did not answer a server list ({servers:[...]})`);
    }
    yield* body.servers.map((item, index) => toEntry(item, `${root} page ${page} [${index}]`));
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const next =
      typeof metadata.nextCursor === "string" && metadata.nextCursor !== "" ? metadata.nextCursor : undefined;
    if (next === undefined || next === cursor) return;
    cursor = next;
  }
  throw new Error(`${root} returned more than ${MAX_UPSTREAM_PAGES} pages; stopping`);
}

/**
 * MCP_REGISTRY_SEED_FROM: a local file or directory, a URL of a server.json array, or a registry
 * base URL (anything at the URL that is not a JSON array is taken as a registry to page through).
 */
export async function* readSeed(source: string, fetcher: Fetcher): AsyncGenerator<SourceEntry> {
  if (!/^https?:\/\//i.test(source)) {
    yield* readPath(source);
    return;
  }
  const direct = await getJson(fetcher.fetch, source, {
    timeoutMs: FETCH_TIMEOUT_MS,
    maxBytes: FETCH_MAX_BYTES,
  }).catch(() => undefined);
  if (Array.isArray(direct)) {
    yield* entriesOf(direct, source);
    return;
  }
  yield* readRegistry(source, fetcher);
}

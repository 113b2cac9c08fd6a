import fs from "node:fs/promises";
import path from "node:path";
import { boundedGet, OutboundError } from "../auth/outbound";
import { OFFICIAL_META_KEY } from "../schema";
import {
  decodeUtf8,
  findUnstorable,
  invalidUtf8Problem,
  UnstorableInputError,
  type InvalidUtf8,
} from "../schema/storable";

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
  /** Set when the entry holds values the store cannot keep exactly: it is skipped and counted. */
  refused?: UnstorableInputError;
}

export interface Fetcher {
  fetch: typeof fetch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A registry list item `{server, _meta}` or a bare server.json. */
function toEntry(item: unknown, origin: string, invalid: InvalidUtf8 | undefined): SourceEntry {
  const { found, total } = findUnstorable(item, invalid);
  const refused = total > 0 ? new UnstorableInputError(found, total, origin) : undefined;
  if (refused !== undefined) return { origin, document: item, refused };
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

/**
 * The documents of one parsed JSON value: an array, a registry list page, or one document. `invalid`
 * locates the invalid UTF-8 of the source, so only the documents holding it are refused.
 */
export function entriesOf(value: unknown, origin: string, invalid?: InvalidUtf8): SourceEntry[] {
  if (Array.isArray(value)) return value.map((item, index) => toEntry(item, `${origin}[${index}]`, invalid));
  if (isRecord(value) && Array.isArray(value.servers)) {
    return value.servers.map((item, index) => toEntry(item, `${origin} servers[${index}]`, invalid));
  }
  return [toEntry(value, origin, invalid)];
}

/** JSON from bytes, decoded strictly: invalid UTF-8 is located, never replaced by U+FFFD. */
function parseJsonBytes(bytes: Buffer, source: string): { value: unknown; invalid?: InvalidUtf8 } {
  const decoded = decodeUtf8(bytes);
  try {
    return { value: JSON.parse(decoded.text) as unknown, invalid: decoded.invalid };
  } catch (error) {
    const reason =
      decoded.invalid === undefined
        ? (error as Error).message
        : invalidUtf8Problem(decoded.invalid, "it").detail;
    throw new Error(`${source} is not valid JSON: ${reason}`, { cause: error });
  }
}

async function readJsonFile(file: string): Promise<{ value: unknown; invalid?: InvalidUtf8 }> {
  return parseJsonBytes(await fs.readFile(file), file);
}

/** GET that must answer 200 with a JSON body, decoded strictly. */
async function getJsonStrict(
  fetcher: Fetcher,
  url: string,
): Promise<{ value: unknown; invalid?: InvalidUtf8 }> {
  const response = await boundedGet(fetcher.fetch, url, {
    timeoutMs: FETCH_TIMEOUT_MS,
    maxBytes: FETCH_MAX_BYTES,
    headers: { accept: "application/json" },
  });
  if (response.status !== 200) throw new OutboundError(`status ${response.status}`, response.status);
  return parseJsonBytes(response.bytes, "the response");
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
    const { value, invalid } = await readJsonFile(file);
    yield* entriesOf(value, origin, invalid);
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
    const { value: body, invalid } = await getJsonStrict(fetcher, url).catch((error: unknown) => {
      throw new Error(`GET ${url} failed: ${(error as Error).message}`);
    });
    if (!isRecord(body) || !Array.isArray(body.servers)) {
      throw new Error(`GET ${url} did not answer a server list ({servers:[...]})`);
    }
    yield* body.servers.map((item, index) => toEntry(item, `${root} page ${page} [${index}]`, invalid));
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
  const direct = await getJsonStrict(fetcher, source).catch(() => undefined);
  if (Array.isArray(direct?.value)) {
    yield* entriesOf(direct.value, source, direct.invalid);
    return;
  }
  yield* readRegistry(source, fetcher);
}

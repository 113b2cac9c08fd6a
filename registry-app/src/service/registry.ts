import { assertCanEdit, assertCanPublish, type RegistryClaims } from "../auth";
import { DEFAULT_TAXONOMY, publisherClassification, type Taxonomy } from "../classification";
import { ProblemError, type FieldProblem } from "../errors";
import { validateServerJson, type ServerJson, type ValidationIssue, type ValidationResult } from "../schema";
import type {
  AttributeFilter,
  FacetCounts,
  FacetName,
  ListFilter,
  PublishRequest,
  ServerStatus,
  ServerStore,
  ServerWriter,
  StoredVersion,
} from "../store";
import { decodeCursor, encodeCursor } from "./cursor";
import { FacetIndex } from "./facet-index";
import { assertKnownCategories, cursorFilters, hasAttributeFilter, includesDeleted } from "./narrowing";
import { GenerationReader } from "./generation";
import { chooseLatest, plainSemverMain, precedence } from "./versions";

/** Calls of registry_publish per publish; more than two only while other publishes keep moving the latest. */
const MAX_PUBLISH_ATTEMPTS = 8;

/** The official cap on versions of one server name. */
export const MAX_VERSIONS_PER_NAME = 10_000;

export interface ListQuery {
  cursor?: string;
  limit: number;
  search?: string;
  updatedSince?: Date;
  /** "latest" or an exact version. */
  version?: string;
  includeDeleted: boolean;
  /** Categories (taxonomy ids), tags, package types, transports, remote, status. */
  attributes?: AttributeFilter;
  /** Facets to count over the whole result set. */
  facets?: readonly FacetName[];
}

export interface ListPage {
  entries: StoredVersion[];
  nextCursor?: string;
  facets?: FacetCounts;
}

/** A stored version plus the warnings its document drew (classification only; never errors). */
export type WrittenVersion = StoredVersion & { warnings: ValidationIssue[] };

export interface StatusChange {
  status: ServerStatus;
  statusMessage?: string;
}

export interface BulkStatusResult {
  updatedCount: number;
  servers: StoredVersion[];
}

/** Counters the service reports; the http layer backs them with Prometheus. */
export interface ServiceEvents {
  /** Every server.json validation: /validate, publish, edit, seed, import and sync. */
  validated(outcome: "valid" | "invalid"): void;
}

export interface RegistryServiceOptions {
  maxVersionsPerName?: number;
  events?: ServiceEvents;
  /** Categories publishers may declare and filters may name (MCP_REGISTRY_CATEGORIES_FILE). */
  taxonomy?: Taxonomy;
  /** Count facets in memory (a FacetIndex) where a request allows it; false: always in SQL. */
  facetIndex?: boolean;
}

/** Claims of the registry's own ingestion (seed, import, sync): publish and edit anything. */
export function systemCaller(subject: string): RegistryClaims {
  return {
    iss: "mcp-registry",
    iat: 0,
    nbf: 0,
    exp: 0,
    auth_method: "system",
    auth_method_sub: subject,
    permissions: [
      { action: "publish", resource: "*" },
      { action: "edit", resource: "*" },
    ],
  };
}

/** 409 for a version that exists already; ingestion counts it as unchanged, which makes re-runs idempotent. */
export class DuplicateVersionError extends ProblemError {}

function notFound(detail: string): ProblemError {
  return new ProblemError(404, "Not Found", detail);
}

function conflict(detail: string, errors: FieldProblem[]): ProblemError {
  return new ProblemError(409, "Conflict", detail, { errors });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Remote URLs compared with scheme and host case-folded (templates with {vars} stay verbatim). */
export function normalizeRemoteUrl(url: string): string {
  const trimmed = url.trim();
  if (trimmed.includes("{")) return trimmed;
  try {
    return new URL(trimmed).href;
  } catch {
    return trimmed;
  }
}

function remoteUrls(server: ServerJson): Array<{ url: string; path: string }> {
  return (server.remotes ?? []).map((remote, index) => ({
    url: normalizeRemoteUrl(remote.url),
    path: `remotes[${index}].url`,
  }));
}

function unprocessable(issues: ValidationIssue[]): ProblemError {
  const errors = issues
    .filter((issue) => issue.severity === "error")
    .map((issue) => ({
      location: issue.path === "" ? "body" : `body.${issue.path}`,
      message: issue.message,
    }));
  const first = errors[0];
  const summary = first ? `${first.location}: ${first.message}` : "invalid document";
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return new ProblemError(
    422,
    "Unprocessable Entity",
    `The server.json is invalid: ${summary}${more}. POST it to /v0.1/validate for every finding.`,
    { errors },
  );
}

/**
 * Publish, edit, status, list and read of server versions: every rule of the registry that is not
 * about HTTP. Writes to one name run under that name's lock, in one transaction.
 */
export class RegistryService {
  private readonly maxVersions: number;
  private readonly events: ServiceEvents | undefined;
  private readonly generations: GenerationReader;
  readonly taxonomy: Taxonomy;
  private readonly knownCategories: ReadonlySet<string>;
  private readonly facetIndex: FacetIndex | undefined;

  constructor(
    private readonly store: ServerStore,
    options: RegistryServiceOptions = {},
  ) {
    this.maxVersions = options.maxVersionsPerName ?? MAX_VERSIONS_PER_NAME;
    this.events = options.events;
    this.taxonomy = options.taxonomy ?? DEFAULT_TAXONOMY;
    this.knownCategories = new Set(this.taxonomy.ids);
    this.generations = new GenerationReader(() => store.changeGeneration());
    this.facetIndex =
      options.facetIndex === false
        ? undefined
        : new FacetIndex(
            () => this.generations.current(),
            () => store.facetRows(),
          );
  }

  /**
   * The database's change generation as of a read that started after this call (concurrent callers
   * share reads): equal values mean no read of this service could have answered differently.
   */
  changeGeneration(): Promise<string> {
    return this.generations.current();
  }

  /** Schema and official rules, plus the checks that need the database (duplicate, cap, remote URLs). */
  async validate(input: unknown): Promise<ValidationResult> {
    const result = validateServerJson(input);
    const issues = [...result.issues];
    if (result.server !== undefined) {
      const server = result.server;
      const [existing, owners, count] = await Promise.all([
        this.store.get(server.name, server.version),
        this.store.remoteUrlOwners(remoteUrls(server).map((remote) => remote.url)),
        this.store.countVersions(server.name),
      ]);
      if (existing !== undefined) issues.unshift(this.duplicateIssue(server));
      for (const remote of remoteUrls(server)) {
        const owner = owners.get(remote.url);
        if (owner !== undefined && owner !== server.name)
          issues.unshift(this.remoteTakenIssue(remote.path, owner));
      }
      if (count >= this.maxVersions) issues.unshift(this.capIssue(server.name));
      issues.push(...publisherClassification(server, this.taxonomy).issues);
    }
    const valid = !issues.some((issue) => issue.severity === "error");
    this.events?.validated(valid ? "valid" : "invalid");
    return { valid, issues };
  }

  /** POST /publish: stores a new version and moves latest if it is greater; all or nothing. */
  async publish(caller: RegistryClaims, input: unknown): Promise<WrittenVersion> {
    // Permission first when a name is readable, so callers cannot probe other namespaces' rules.
    if (isRecord(input) && typeof input.name === "string") assertCanPublish(caller, input.name);
    const result = validateServerJson(input);
    this.events?.validated(result.server ? "valid" : "invalid");
    if (result.server === undefined) throw unprocessable(result.issues);
    const server = result.server;
    assertCanPublish(caller, server.name);
    const stored = await this.storeVersion(server);
    const classification = await this.store.classificationOf(stored.id);
    return { ...stored, classification, warnings: this.classificationWarnings(server) };
  }

  /** What the registry did not index as the publisher wrote it (unknown categories, unusable tags). */
  private classificationWarnings(server: ServerJson): ValidationIssue[] {
    return publisherClassification(server, this.taxonomy).issues.filter(
      (issue) => issue.severity === "warning",
    );
  }

  /**
   * One round trip (the database orders plain MAJOR.MINOR.PATCH versions itself); one more when the
   * current latest needs node-semver, repeated only while other publishes keep moving the latest.
   */
  private async storeVersion(server: ServerJson): Promise<StoredVersion> {
    const remotes = remoteUrls(server);
    const request: PublishRequest = {
      name: server.name,
      version: server.version,
      document: server,
      description: server.description,
      title: server.title ?? null,
      remoteUrls: remotes.map((remote) => remote.url),
      maxVersions: this.maxVersions,
      candidateMain: plainSemverMain(server.version),
    };
    for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt += 1) {
      const result = await this.store.publish(request);
      switch (result.outcome) {
        case "stored":
          return result.stored;
        case "cap":
          throw conflict(this.capIssue(server.name).message, [
            { location: "body.version", message: "version cap reached" },
          ]);
        case "duplicate": {
          const issue = this.duplicateIssue(server);
          throw new DuplicateVersionError(409, "Conflict", issue.message, {
            errors: [{ location: "body.version", message: issue.message }],
          });
        }
        case "remote-taken":
          throw this.remotesTaken(remotes, result.owners);
        case "decide":
          request.versus = {
            id: result.latest.id,
            order: Math.sign(precedence(server.version, result.latest.version)),
          };
      }
    }
    throw new ProblemError(
      503,
      "Service Unavailable",
      "The latest version kept changing under concurrent publishes; retry shortly.",
      { headers: { "Retry-After": "1" } },
    );
  }

  private async claimRemotes(writer: ServerWriter, server: ServerJson): Promise<void> {
    const remotes = remoteUrls(server);
    const taken = await writer.claimRemoteUrls(remotes.map((remote) => remote.url));
    if (taken.size !== 0) throw this.remotesTaken(remotes, taken);
  }

  /** 409 naming each remote URL another name owns. */
  private remotesTaken(
    remotes: Array<{ url: string; path: string }>,
    taken: Map<string, string>,
  ): ProblemError {
    const errors = remotes
      .filter((remote) => taken.has(remote.url))
      .map((remote) => ({
        location: `body.${remote.path}`,
        message: this.remoteTakenIssue(remote.path, taken.get(remote.url) ?? "").message,
      }));
    return conflict(errors[0]?.message ?? "remote URL already used", errors);
  }

  /** PUT /servers/{name}/versions/{version}: replaces the document of an existing version. */
  async edit(caller: RegistryClaims, name: string, version: string, input: unknown): Promise<WrittenVersion> {
    assertCanEdit(caller, name);
    const result = validateServerJson(input);
    this.events?.validated(result.server ? "valid" : "invalid");
    if (result.server === undefined) throw unprocessable(result.issues);
    const server = result.server;
    if (server.name !== name) {
      throw new ProblemError(
        400,
        "Bad Request",
        `Renaming is not allowed: the body names "${server.name}", the path "${name}".`,
        {
          errors: [{ location: "body.name", message: `must equal the server name in the path, "${name}"` }],
        },
      );
    }
    if (server.version !== version) {
      throw new ProblemError(
        400,
        "Bad Request",
        `The body version "${server.version}" differs from the path version "${version}".`,
        {
          errors: [{ location: "body.version", message: `must equal the version in the path, "${version}"` }],
        },
      );
    }
    const stored = await this.store.withNameLock(name, async (writer) => {
      const existing = await writer.find(version);
      if (existing === undefined) throw notFound(`Server "${name}" has no version "${version}".`);
      await this.claimRemotes(writer, server);
      return writer.updateDocument(existing.id, {
        document: server,
        description: server.description,
        title: server.title ?? null,
        at: await writer.now(),
      });
    });
    return { ...stored, warnings: this.classificationWarnings(server) };
  }

  /** PATCH .../versions/{version}/status; `latest` names the current latest version. */
  async setStatus(
    caller: RegistryClaims,
    name: string,
    version: string,
    change: StatusChange,
  ): Promise<StoredVersion> {
    assertCanEdit(caller, name);
    const message = this.statusMessage(change);
    return this.store.withNameLock(name, async (writer) => {
      const target = version === "latest" ? await this.latestOf(writer) : await writer.find(version);
      if (target === undefined) throw notFound(`Server "${name}" has no version "${version}".`);
      if (target.status === change.status && target.statusMessage === message) {
        throw this.noChange(change.status);
      }
      const at = await writer.now();
      await writer.setStatus([target.id], { status: change.status, statusMessage: message, at });
      await this.recomputeLatest(writer, at);
      return (await writer.find(target.version)) as StoredVersion;
    });
  }

  /** PATCH /servers/{name}/status: every version of the name, in one transaction. */
  async setStatusAll(caller: RegistryClaims, name: string, change: StatusChange): Promise<BulkStatusResult> {
    assertCanEdit(caller, name);
    const message = this.statusMessage(change);
    return this.store.withNameLock(name, async (writer) => {
      const rows = await writer.all();
      if (rows.length === 0) throw notFound(`Server "${name}" was not found.`);
      const changed = rows.filter((row) => row.status !== change.status || row.statusMessage !== message);
      if (changed.length === 0) throw this.noChange(change.status);
      const at = await writer.now();
      const ids = new Set(changed.map((row) => row.id));
      await writer.setStatus([...ids], { status: change.status, statusMessage: message, at });
      await this.recomputeLatest(writer, at);
      const servers = (await writer.all()).filter((row) => ids.has(row.id));
      return { updatedCount: servers.length, servers };
    });
  }

  private statusMessage(change: StatusChange): string | null {
    const message = change.statusMessage ?? null;
    if (message !== null && change.status === "active") {
      throw new ProblemError(
        400,
        "Bad Request",
        "statusMessage is only allowed with deprecated or deleted.",
        {
          errors: [{ location: "body.statusMessage", message: "not allowed with status active" }],
        },
      );
    }
    if (message !== null && [...message].length > 500) {
      throw new ProblemError(400, "Bad Request", "statusMessage must be at most 500 characters.", {
        errors: [{ location: "body.statusMessage", message: "must be at most 500 characters" }],
      });
    }
    return message;
  }

  private noChange(status: ServerStatus): ProblemError {
    return new ProblemError(
      400,
      "Bad Request",
      `No changes to apply: the status is already ${status} with that message.`,
    );
  }

  private async latestOf(writer: ServerWriter): Promise<StoredVersion | undefined> {
    const latest = await writer.latest();
    return latest === undefined ? undefined : writer.find(latest.version);
  }

  /** After a status change: latest is the highest non-deleted version (the highest of all if none). */
  private async recomputeLatest(writer: ServerWriter, at: Date): Promise<void> {
    const rows = await writer.rankingRows();
    const target = chooseLatest(rows);
    const current = rows.find((row) => row.isLatest);
    if (target !== undefined && target.id !== current?.id) await writer.setLatest(target.id, at);
  }

  /**
   * GET /servers: keyset pages in (name, version) order, or ranked when searching; facet counts over
   * the whole result set alongside (a second query, run concurrently).
   */
  async list(query: ListQuery): Promise<ListPage> {
    assertKnownCategories(this.taxonomy, query.attributes);
    const filter = {
      limit: query.limit + 1,
      // updated_since readers (sync) must see deletions.
      includeDeleted: includesDeleted(query.includeDeleted, query.updatedSince, query.attributes),
      updatedSince: query.updatedSince,
      latestOnly: query.version === "latest",
      version: query.version === "latest" ? undefined : query.version,
      attributes: query.attributes,
    };
    const filters = cursorFilters(query);
    const legacy = !hasAttributeFilter(query.attributes);
    const search = query.search?.trim();
    const cursor =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, search ? "search" : "list", filters, legacy);
    const facets = this.countFacets({ ...filter, search }, query.facets);
    const page = async (): Promise<Omit<ListPage, "facets">> => {
      if (search) {
        const rows = await this.store.search({
          ...filter,
          text: search,
          after: cursor?.kind === "search" ? cursor : undefined,
        });
        const entries = rows.slice(0, query.limit);
        const last = entries[entries.length - 1];
        const nextCursor =
          rows.length > query.limit && last
            ? encodeCursor({
                kind: "search",
                score: last.score,
                name: last.name,
                version: last.version,
                filters,
              })
            : undefined;
        return { entries, nextCursor };
      }
      const rows = await this.store.list({ ...filter, after: cursor?.kind === "list" ? cursor : undefined });
      const entries = rows.slice(0, query.limit);
      const last = entries[entries.length - 1];
      const nextCursor =
        rows.length > query.limit && last
          ? encodeCursor({ kind: "list", name: last.name, version: last.version, filters })
          : undefined;
      return { entries, nextCursor };
    };
    const [listed, counted] = await Promise.all([page(), facets]);
    return counted === undefined ? listed : { ...listed, facets: counted };
  }

  /**
   * Facet counts: in memory when the request narrows only by scope and attributes (the catalogue's
   * browsing), in SQL when it also searches, asks for an exact version or for updated_since.
   */
  private async countFacets(
    filter: Omit<ListFilter, "after" | "limit"> & { search?: string },
    facets: readonly FacetName[] | undefined,
  ): Promise<FacetCounts | undefined> {
    if (facets === undefined || facets.length === 0) return undefined;
    const inMemory = !filter.search && filter.version === undefined && filter.updatedSince === undefined;
    if (this.facetIndex !== undefined && inMemory) {
      const snapshot = await this.facetIndex.current();
      return snapshot.count(filter, filter.attributes ?? {}, facets, this.knownCategories);
    }
    return this.store.facets({ ...filter, facets, knownCategories: this.taxonomy.ids });
  }

  /** GET /servers/{name}/versions: newest publication first. */
  async versions(name: string, includeDeleted: boolean): Promise<StoredVersion[]> {
    const rows = await this.store.versions(name, includeDeleted);
    if (rows.length === 0) throw notFound(`Server "${name}" was not found.`);
    return rows;
  }

  /** GET /servers/{name}/versions/{version}; `latest` is the current latest version. */
  async get(name: string, version: string, includeDeleted: boolean): Promise<StoredVersion> {
    const row = version === "latest" ? await this.store.getLatest(name) : await this.store.get(name, version);
    if (row === undefined || (row.status === "deleted" && !includeDeleted)) {
      throw notFound(
        version === "latest"
          ? `Server "${name}" was not found.`
          : `Server "${name}" has no version "${version}".`,
      );
    }
    return row;
  }

  private duplicateIssue(server: ServerJson): ValidationIssue {
    return {
      type: "semantic",
      path: "version",
      message: `version ${server.version} of ${server.name} is already published; versions are immutable, publish a new one`,
      severity: "error",
      reference: "duplicate-version",
    };
  }

  private remoteTakenIssue(path: string, owner: string): ValidationIssue {
    return {
      type: "semantic",
      path,
      message: `this remote URL is already used by server ${owner}`,
      severity: "error",
      reference: "remote-url-taken",
    };
  }

  private capIssue(name: string): ValidationIssue {
    return {
      type: "semantic",
      path: "version",
      message: `${name} already has the maximum of ${this.maxVersions} versions`,
      severity: "error",
      reference: "max-versions-per-name",
    };
  }
}

import { assertCanEdit, assertCanPublish, type RegistryClaims } from "../auth";
import { DEFAULT_TAXONOMY, publisherClassification, type Taxonomy } from "../classification";
import { ProblemError, type FieldProblem } from "../errors";
import { validateServerJson, type ServerJson, type ValidationIssue, type ValidationResult } from "../schema";
import {
  StoreRefusedValueError,
  type AttributeFilter,
  type EntryRow,
  type FacetCounts,
  type FacetName,
  type Freshness,
  type ListFilter,
  type PublishRequest,
  type ServerStatus,
  type ServerStore,
  type ServerWriter,
  type StoredVersion,
  type Tagged,
  type WrittenEntryRow,
} from "../store";
import type { PackageCheck, PackageVerifier } from "../verify";
import { decodeCursor, encodeCursor } from "./cursor";
import { BatchedReads } from "./batched-reads";
import { FacetIndex } from "./facet-index";
import { assertKnownCategories, cursorFilters, hasAttributeFilter, includesDeleted } from "./narrowing";
import { GenerationReader } from "./generation";
import { chooseLatest, plainSemverMain, precedence } from "./versions";

/** Calls of registry_publish per publish; more than two only while other publishes keep moving the latest. */
const MAX_PUBLISH_ATTEMPTS = 8;
/**
 * Statements reading the facet index's pages that may run at once; more requests wait and share the
 * next one (BENCHMARKS.md, eighth session: measured with two, not tuned further).
 */
const PAGE_READS_IN_FLIGHT = 2;
/** Most ids one such statement reads: sixteen default pages. */
const PAGE_READS_MAX_IDS = 16 * 31;

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
  entries: EntryRow[];
  nextCursor?: string;
  /** The generation the page was read under (when asked for and not empty). */
  generation?: string;
  facets?: FacetCounts;
}

/** How a read runs: how fresh it must be, and whether the answer should carry its generation. */
export interface ReadOptions {
  /** A WAL position (from a write's response) the answering server must have replayed. */
  atLeast?: string;
  /** Tag the answer with the generation it was read under (for caching it). */
  tagged: boolean;
}

/** What became of one document of publishBatch. */
export type BatchPublishOutcome =
  { outcome: "published" } | { outcome: "duplicate" } | { outcome: "rejected"; problem: ProblemError };

/** One entry and the generation of its name it was read under. */
export interface EntryAnswer {
  entry: EntryRow;
  generation?: string;
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
  /** Facet counts of a list: from the in-memory index, or in SQL (search, exact version, index off). */
  facetsCounted(source: "index" | "sql"): void;
  /** A list page narrowed by attributes: found in the in-memory index, or by its query (see narrowedPage). */
  narrowedPage(source: "index" | "sql"): void;
}

export interface PackageVerification {
  verifier: PackageVerifier;
  /** MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: findings refuse publish and edit (else /validate warns). */
  enforce: boolean;
}

export interface RegistryServiceOptions {
  maxVersionsPerName?: number;
  events?: ServiceEvents;
  packages?: PackageVerification;
  /** Categories publishers may declare and filters may name (MCP_REGISTRY_CATEGORIES_FILE). */
  taxonomy?: Taxonomy;
  /** Count facets in memory (a FacetIndex) where a request allows it; false: always in SQL. */
  facetIndex?: boolean;
}

const SYSTEM_METHOD = "system";

/**
 * Claims of the registry's own ingestion (seed, import, sync): publish and edit anything. Its
 * sources are the operator's (a file, a directory, an upstream registry that verified its packages),
 * so their packages are not verified again.
 */
export function systemCaller(subject: string): RegistryClaims {
  return {
    iss: "mcp-registry",
    iat: 0,
    nbf: 0,
    exp: 0,
    auth_method: SYSTEM_METHOD,
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

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Errors first, then warnings, then notes; the order within a severity is kept. */
function bySeverity(a: ValidationIssue, b: ValidationIssue): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
}

/**
 * A finding that depends on what the registry holds (not on the document): /validate reports it as a
 * warning of type "registry", so a document stays valid; publish refuses it with a 409.
 */
export function registryWarning(path: string, message: string, reference: string): ValidationIssue {
  return { type: "registry", path, message, severity: "warning", reference };
}

/** 422 naming each package whose ownership is not proven, with what to change. */
function packagesNotProven(findings: Array<PackageCheck & { outcome: "finding" }>): ProblemError {
  const errors = findings.map((check) => ({
    location: `body.packages[${check.index}]`,
    message: check.message,
  }));
  const first = errors[0] as { location: string; message: string };
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return new ProblemError(
    422,
    "Unprocessable Entity",
    `Package ownership is not proven: ${first.location}: ${first.message}${more}.`,
    { errors },
  );
}

/** 503 (retryable) or 502 naming the package registry that gave no usable answer; never a silent pass. */
function registryUnavailable(check: PackageCheck & { outcome: "unavailable" }): ProblemError {
  const detail = `The package registry ${check.registry} ${check.reason}, so body.packages[${check.index}] could not be verified`;
  if (check.retryable) {
    return new ProblemError(503, "Service Unavailable", `${detail}; retry shortly.`, {
      errors: [{ location: `body.packages[${check.index}]`, message: `${check.registry} ${check.reason}` }],
      headers: { "Retry-After": "30" },
    });
  }
  return new ProblemError(502, "Bad Gateway", `${detail}.`, {
    errors: [{ location: `body.packages[${check.index}]`, message: `${check.registry} ${check.reason}` }],
  });
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
 * True when the facet index holds what a request narrows by: scope (latest only, deleted versions) and
 * attributes. An exact version or updated_since is not in it (searches are the caller's to exclude).
 */
function inIndexScope(filter: { version?: string; updatedSince?: Date }): boolean {
  return filter.version === undefined && filter.updatedSince === undefined;
}

/**
 * Publish, edit, status, list and read of server versions: every rule of the registry that is not
 * about HTTP. Writes to one name run under that name's lock, in one transaction.
 */
export class RegistryService {
  private readonly maxVersions: number;
  private readonly events: ServiceEvents | undefined;
  private readonly generations: GenerationReader;
  private readonly packages: PackageVerification | undefined;
  readonly taxonomy: Taxonomy;
  private readonly knownCategories: ReadonlySet<string>;
  private readonly facetIndex: FacetIndex | undefined;
  /** Reads of the pages the facet index finds, shared by concurrent requests. */
  private readonly pageReads: BatchedReads<ReadonlyMap<string, WrittenEntryRow>>;

  constructor(
    private readonly store: ServerStore,
    options: RegistryServiceOptions = {},
  ) {
    this.maxVersions = options.maxVersionsPerName ?? MAX_VERSIONS_PER_NAME;
    this.events = options.events;
    this.packages = options.packages;
    this.taxonomy = options.taxonomy ?? DEFAULT_TAXONOMY;
    this.knownCategories = new Set(this.taxonomy.ids);
    this.generations = new GenerationReader((names) => store.freshness(names));
    // The index reads its changes on the primary, so it compares itself with the primary's generation.
    const primary = store.hasReadPool
      ? new GenerationReader((names) => store.primaryFreshness(names))
      : this.generations;
    this.facetIndex =
      options.facetIndex === false
        ? undefined
        : new FacetIndex(
            async () => (await primary.current()).global,
            (since, take) => store.facetChanges(since, take),
          );
    this.pageReads = new BatchedReads(
      async (ids): Promise<ReadonlyMap<string, WrittenEntryRow>> => {
        const rows = await store.reading({ tagged: false }, (reader) => reader.byIds(ids));
        return new Map(rows.map((row) => [row.id, row]));
      },
      PAGE_READS_IN_FLIGHT,
      PAGE_READS_MAX_IDS,
    );
  }

  /**
   * Change generations as of a read (on the read pool) that started after this call; concurrent
   * callers share reads. An equal generation means no read of this service could have answered
   * differently: the global one for lists and searches, a name's for reads of that name.
   */
  freshness(name?: string): Promise<Freshness> {
    return this.generations.current(name);
  }

  /** True when reads go to a standby, so a client's read may need its write's WAL position. */
  get readsFromStandby(): boolean {
    return this.store.hasReadPool;
  }

  /** After a write: the WAL position a later read must reach to see it (see ReadOptions.atLeast). */
  writePosition(): Promise<string> {
    return this.store.writePosition();
  }

  /**
   * Schema and official rules (errors), what the registry already holds (warnings: the document
   * itself is fine) and package ownership (errors when verification is enforced, else warnings).
   */
  async validate(input: unknown): Promise<ValidationResult> {
    const result = validateServerJson(input);
    const issues = [...result.issues];
    if (result.server !== undefined) {
      const [held, packages] = await Promise.all([
        this.registryFindings(result.server),
        this.packageFindings(result.server),
      ]);
      issues.push(...held, ...packages, ...publisherClassification(result.server, this.taxonomy).issues);
    }
    issues.sort(bySeverity);
    const valid = !issues.some((issue) => issue.severity === "error");
    this.events?.validated(valid ? "valid" : "invalid");
    return { valid, issues };
  }

  /** Findings that depend on the stored state: duplicate version, version cap, remote URLs of other names. */
  private async registryFindings(server: ServerJson): Promise<ValidationIssue[]> {
    const remotes = remoteUrls(server);
    const [existing, owners, count] = await Promise.all([
      this.store.get(server.name, server.version),
      this.store.remoteUrlOwners(remotes.map((remote) => remote.url)),
      this.store.countVersions(server.name),
    ]);
    const findings: ValidationIssue[] = [];
    if (existing !== undefined) findings.push(this.duplicateIssue(server));
    if (count >= this.maxVersions) findings.push(this.capIssue(server.name));
    for (const remote of remotes) {
      const owner = owners.get(remote.url);
      if (owner !== undefined && owner !== server.name)
        findings.push(this.remoteTakenIssue(remote.path, owner));
    }
    return findings;
  }

  /** Ownership proofs as issues; a registry that cannot answer is a warning saying publish would fail. */
  private async packageFindings(server: ServerJson): Promise<ValidationIssue[]> {
    if (this.packages === undefined || (server.packages ?? []).length === 0) return [];
    const severity = this.packages.enforce ? "error" : "warning";
    const checks = await this.packages.verifier.verify(server);
    return checks.flatMap((check): ValidationIssue[] => {
      const path = `packages[${check.index}]`;
      if (check.outcome === "finding")
        return [{ type: "package", path, message: check.message, severity, reference: "package-ownership" }];
      if (check.outcome === "unavailable") {
        const consequence = this.packages?.enforce
          ? "publishing answers 503 or 502 until it does"
          : "not verified";
        return [
          {
            type: "package",
            path,
            message: `the package registry ${check.registry} ${check.reason}; ${consequence}`,
            severity: "warning",
            reference: "package-registry-unavailable",
          },
        ];
      }
      return [];
    });
  }

  /** With verification enforced: 422 for findings, else 503/502 for a registry without an answer. */
  private async assertPackagesOwned(caller: RegistryClaims, server: ServerJson): Promise<void> {
    if (this.packages === undefined || !this.packages.enforce || caller.auth_method === SYSTEM_METHOD) return;
    if ((server.packages ?? []).length === 0) return;
    const checks = await this.packages.verifier.verify(server);
    const findings = checks.filter((check) => check.outcome === "finding");
    if (findings.length > 0) throw packagesNotProven(findings);
    const unavailable = checks.find((check) => check.outcome === "unavailable");
    if (unavailable !== undefined) throw registryUnavailable(unavailable);
  }

  /** POST /publish: stores a new version and moves latest if it is greater; all or nothing. */
  async publish(caller: RegistryClaims, input: unknown): Promise<WrittenVersion> {
    const server = this.publishable(caller, input);
    await this.assertPackagesOwned(caller, server);
    const stored = await this.storeVersion(server);
    return { ...stored, warnings: this.classificationWarnings(server) };
  }

  /**
   * Seed and import: publishes documents in order, each under the same rules as publish (permission,
   * validation, isLatest, cap, duplicates, remote URLs), and reports each one's outcome. Consecutive
   * versions of one name are stored in one statement and one transaction, committed before this
   * resolves. A failure that is not the document's fault (the database) rejects the whole call.
   */
  async publishBatch(caller: RegistryClaims, inputs: readonly unknown[]): Promise<BatchPublishOutcome[]> {
    const outcomes: BatchPublishOutcome[] = [];
    const accepted: Array<{ index: number; server: ServerJson }> = [];
    inputs.forEach((input, index) => {
      try {
        accepted.push({ index, server: this.publishable(caller, input) });
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status >= 500) throw error;
        outcomes[index] = { outcome: "rejected", problem: error };
      }
    });
    for (let start = 0; start < accepted.length;) {
      let end = start + 1;
      while (end < accepted.length && accepted[end]?.server.name === accepted[start]?.server.name) end += 1;
      const run = accepted.slice(start, end);
      const stored = await this.storeRun(run.map((entry) => entry.server));
      run.forEach((entry, position) => {
        outcomes[entry.index] = stored[position] as BatchPublishOutcome;
      });
      start = end;
    }
    return outcomes;
  }

  /** Permission (first, when a name is readable, so callers cannot probe other namespaces' rules) and validation. */
  private publishable(caller: RegistryClaims, input: unknown): ServerJson {
    if (isRecord(input) && typeof input.name === "string") assertCanPublish(caller, input.name);
    const result = validateServerJson(input);
    this.events?.validated(result.server ? "valid" : "invalid");
    if (result.server === undefined) throw unprocessable(result.issues);
    assertCanPublish(caller, result.server.name);
    return result.server;
  }

  private publishRequest(server: ServerJson): PublishRequest {
    return {
      name: server.name,
      version: server.version,
      document: server,
      description: server.description,
      title: server.title ?? null,
      remoteUrls: remoteUrls(server).map((remote) => remote.url),
      maxVersions: this.maxVersions,
      candidateMain: plainSemverMain(server.version),
    };
  }

  /**
   * Versions of one name in one round trip (plus one per version whose ordering needs node-semver).
   * When one claims a remote URL another name owns, or holds a value the database refuses, nothing of
   * the statement is stored and each version goes through publish on its own, so only that one is refused.
   */
  private async storeRun(servers: readonly ServerJson[]): Promise<BatchPublishOutcome[]> {
    const name = (servers[0] as ServerJson).name;
    const outcomes: BatchPublishOutcome[] = [];
    let versus: { id: string; order: number } | undefined;
    let attempts = 0;
    while (outcomes.length < servers.length) {
      const pending = servers.slice(outcomes.length);
      const result = await this.store
        .publishMany(
          name,
          pending.map((server) => this.publishRequest(server)),
          versus,
        )
        // A value the database refused (edge validation missed it) fails the whole statement.
        .catch((error: unknown) => {
          if (error instanceof StoreRefusedValueError) return { kind: "refused" as const };
          throw error;
        });
      if (result.kind === "remote-taken" || result.kind === "refused") {
        for (const server of pending) outcomes.push(await this.storeAlone(server));
        break;
      }
      versus = undefined;
      for (const item of result.outcomes) {
        const server = pending[item.item] as ServerJson;
        if (item.outcome === "decide") {
          attempts = item.item === 0 ? attempts + 1 : 1;
          if (attempts >= MAX_PUBLISH_ATTEMPTS) throw this.latestKeptMoving();
          versus = { id: item.latest.id, order: Math.sign(precedence(server.version, item.latest.version)) };
          break;
        }
        outcomes.push(
          item.outcome === "stored"
            ? { outcome: "published" }
            : item.outcome === "duplicate"
              ? { outcome: "duplicate" }
              : { outcome: "rejected", problem: this.capReached(server) },
        );
      }
    }
    return outcomes;
  }

  private async storeAlone(server: ServerJson): Promise<BatchPublishOutcome> {
    try {
      await this.storeVersion(server);
      return { outcome: "published" };
    } catch (error) {
      if (error instanceof DuplicateVersionError) return { outcome: "duplicate" };
      if (error instanceof ProblemError && error.status < 500) return { outcome: "rejected", problem: error };
      throw error;
    }
  }

  /**
   * A published version with its effective classification, which registry_publish does not return:
   * one more read, for answers that show it (ingestion does without).
   */
  async classified(stored: WrittenVersion): Promise<WrittenVersion> {
    if (stored.classification !== undefined) return stored;
    return { ...stored, classification: await this.store.classificationOf(stored.id) };
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
    const request = this.publishRequest(server);
    let versus: { id: string; order: number } | undefined;
    for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt += 1) {
      const result = await this.store.publishMany(server.name, [request], versus);
      if (result.kind === "remote-taken") throw this.remotesTaken(remoteUrls(server), result.owners);
      const outcome = result.outcomes[0];
      switch (outcome?.outcome) {
        case "stored":
          return outcome.stored;
        case "cap":
          throw this.capReached(server);
        case "duplicate": {
          const issue = this.duplicateIssue(server);
          throw new DuplicateVersionError(409, "Conflict", issue.message, {
            errors: [{ location: "body.version", message: issue.message }],
          });
        }
        case "decide":
          versus = {
            id: outcome.latest.id,
            order: Math.sign(precedence(server.version, outcome.latest.version)),
          };
          break;
        case undefined:
          throw new Error(`registry_publish_many answered nothing for ${server.name}@${server.version}`);
      }
    }
    throw this.latestKeptMoving();
  }

  private capReached(server: ServerJson): ProblemError {
    return conflict(this.capIssue(server.name).message, [
      { location: "body.version", message: "version cap reached" },
    ]);
  }

  private latestKeptMoving(): ProblemError {
    return new ProblemError(
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
    // Outside the name's lock: an outbound call must not hold a transaction. Deleted versions are not
    // verified, as in the official registry, so they can be fixed up.
    const stored = await this.store.get(name, version);
    if (stored !== undefined && stored.status !== "deleted") await this.assertPackagesOwned(caller, server);
    const edited = await this.store.withNameLock(name, async (writer) => {
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
    return { ...edited, warnings: this.classificationWarnings(server) };
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
   * the whole result set alongside (a second read, run concurrently).
   */
  async list(query: ListQuery, options: ReadOptions): Promise<ListPage> {
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
    const facets = this.countFacets({ ...filter, search }, query.facets, options);
    const page = async (): Promise<Omit<ListPage, "facets">> => {
      if (search) {
        const { rows, generation } = await this.store.reading(options, (reader) =>
          reader.search({ ...filter, text: search, after: cursor?.kind === "search" ? cursor : undefined }),
        );
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
        return { entries, nextCursor, generation };
      }
      const listed = { ...filter, after: cursor?.kind === "list" ? cursor : undefined };
      const { rows, generation } = legacy
        ? await this.store.reading(options, (reader) => reader.list(listed))
        : await this.narrowedPage(listed, options);
      const entries = rows.slice(0, query.limit);
      const last = entries[entries.length - 1];
      const nextCursor =
        rows.length > query.limit && last
          ? encodeCursor({ kind: "list", name: last.name, version: last.version, filters })
          : undefined;
      return { entries, nextCursor, generation };
    };
    const [listed, counted] = await Promise.all([page(), facets]);
    return counted === undefined ? listed : { ...listed, facets: counted };
  }

  /** A list page narrowed by attributes: from the facet index where it can answer, else by its query. */
  private async narrowedPage(filter: ListFilter, options: ReadOptions): Promise<Tagged<EntryRow>> {
    const indexed = await this.indexedPage(filter, options);
    this.events?.narrowedPage(indexed === undefined ? "sql" : "index");
    return indexed ?? this.store.reading(options, (reader) => reader.narrowedList(filter));
  }

  /**
   * A narrowed list page found in the facet index and read by primary key: PostgreSQL reads only the
   * page's rows instead of testing every version in order until the page is full (a rare filter over
   * all versions tested thousands). Undefined, so the query runs instead, when there is no index, when
   * reads go to a standby (the index follows the primary, whose snapshot the standby may not have
   * reached), when the request names a version or updated_since, or when a version on the page was
   * written after the snapshot of the index's last refresh (facet_xid at or above its xmin: the index
   * may not hold it as it is). So the page is exactly as of the index's snapshot and generation, which
   * is the one a cached answer is kept under. The read is shared with concurrent requests (pageReads).
   */
  private async indexedPage(filter: ListFilter, options: ReadOptions): Promise<Tagged<EntryRow> | undefined> {
    if (this.facetIndex === undefined || this.store.hasReadPool || !inIndexScope(filter)) return undefined;
    const table = await this.facetIndex.current();
    const ids = table.page(filter, filter.attributes ?? {}, filter.after, filter.limit);
    const generation = options.tagged ? table.generation : undefined;
    if (ids.length === 0) return { rows: [] };
    const found = await this.pageReads.get(ids);
    const rows: EntryRow[] = [];
    for (const id of ids) {
      const row = found.get(id);
      // Written since the table's snapshot (or gone): the table may not hold it as it is now.
      if (row === undefined || row.writtenBy >= table.xmin) return undefined;
      rows.push(row.entry);
    }
    return { rows, generation };
  }

  /**
   * Facet counts: in memory when the request narrows only by scope and attributes (the catalogue's
   * browsing), in SQL when it also searches, asks for an exact version or for updated_since.
   */
  private async countFacets(
    filter: Omit<ListFilter, "after" | "limit"> & { search?: string },
    facets: readonly FacetName[] | undefined,
    options: ReadOptions,
  ): Promise<FacetCounts | undefined> {
    if (facets === undefined || facets.length === 0) return undefined;
    if (this.facetIndex !== undefined && !filter.search && inIndexScope(filter)) {
      const table = await this.facetIndex.current();
      this.events?.facetsCounted("index");
      return table.count(filter, filter.attributes ?? {}, facets, this.knownCategories);
    }
    this.events?.facetsCounted("sql");
    return this.store.reading(options, (reader) =>
      reader.facets({ ...filter, facets, knownCategories: this.taxonomy.ids }),
    );
  }

  /** GET /servers/{name}/versions: newest publication first. */
  async versions(name: string, includeDeleted: boolean, options: ReadOptions): Promise<Tagged<EntryRow>> {
    const answer = await this.store.reading(options, (reader) => reader.versions(name, includeDeleted));
    if (answer.rows.length === 0) throw notFound(`Server "${name}" was not found.`);
    return answer;
  }

  /** GET /servers/{name}/versions/{version}; `latest` is the current latest version. */
  async get(
    name: string,
    version: string,
    includeDeleted: boolean,
    options: ReadOptions,
  ): Promise<EntryAnswer> {
    const { rows, generation } = await this.store.reading(options, (reader) =>
      version === "latest" ? reader.latest(name) : reader.version(name, version),
    );
    const entry = rows[0];
    if (entry === undefined || (entry.status === "deleted" && !includeDeleted)) {
      throw notFound(
        version === "latest"
          ? `Server "${name}" was not found.`
          : `Server "${name}" has no version "${version}".`,
      );
    }
    return { entry, generation };
  }

  private duplicateIssue(server: ServerJson): ValidationIssue {
    return registryWarning(
      "version",
      `version ${server.version} of ${server.name} is already published; versions are immutable, publish a new one`,
      "duplicate-version",
    );
  }

  private remoteTakenIssue(path: string, owner: string): ValidationIssue {
    return registryWarning(path, `this remote URL is already used by server ${owner}`, "remote-url-taken");
  }

  private capIssue(name: string): ValidationIssue {
    return registryWarning(
      "version",
      `${name} already has the maximum of ${this.maxVersions} versions`,
      "max-versions-per-name",
    );
  }
}

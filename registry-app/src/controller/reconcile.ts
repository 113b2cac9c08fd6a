// One reconciliation of one MCPServer: what its spec and its namespace's grants say against what the registry holds,
// and the status and events that tell the team what happened. Talks to the registry only through its HTTP API and to
// Kubernetes only through ClusterWriter, so the same code runs against the real API server and registry in tests.
import { patternMatches } from "../auth";
import { validateServerJson, type ServerJson, type ValidationIssue } from "../schema";
import {
  DELETION_POLICY_ANNOTATION,
  FINALIZER,
  objectKey,
  type Condition,
  type ConditionReason,
  type ConditionType,
  type FailureReason,
  type GrantObject,
  type MCPServerObject,
  type MCPServerStatus,
} from "./resources";
import {
  RegistryRefusal,
  RegistryUnavailableError,
  type RegistryClient,
  type RegistryEntry,
  type RegistryStatus,
} from "./registry-client";

/** Status messages the controller writes when it retires a server; only versions carrying it are revived. */
export const RETIRE_PREFIX = "Retired by the MCPServer controller:";

export interface ClusterWriter {
  /** Adds the finalizer; returns the object as stored. */
  addFinalizer(server: MCPServerObject): Promise<MCPServerObject>;
  removeFinalizer(server: MCPServerObject): Promise<void>;
  writeStatus(server: MCPServerObject, status: MCPServerStatus): Promise<void>;
  event(server: MCPServerObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

export interface ReconcileDeps {
  registry: RegistryClient;
  cluster: ClusterWriter;
  grants(): readonly GrantObject[];
  servers(): readonly MCPServerObject[];
  /** Base URL of the registry as its users reach it (status.registryUrl). */
  publicUrl: string;
  now(): Date;
}

export type ReconcileOutcome =
  | { kind: "published" | "unchanged" | "retired" }
  | { kind: "failed"; reason: FailureReason; retry: boolean; message: string };

/** What one namespace may publish, and which grants say so. */
export function grantsFor(
  namespace: string,
  grants: readonly GrantObject[],
): { patterns: string[]; from: string[] } {
  const matching = grants.filter((grant) => grant.spec?.namespaces.includes(namespace));
  return {
    patterns: [...new Set(matching.flatMap((grant) => grant.spec?.patterns ?? []))],
    from: matching.map((grant) => grant.metadata.name ?? ""),
  };
}

export function mayPublish(namespace: string, name: string, grants: readonly GrantObject[]): boolean {
  return grantsFor(namespace, grants).patterns.some((pattern) => patternMatches(pattern, name));
}

const created = (server: MCPServerObject) => new Date(server.metadata.creationTimestamp ?? 0).getTime();

/**
 * The MCPServer that owns a server name when several declare it: the oldest one whose namespace may publish the
 * name and that is not being deleted. A resource that is not granted the name never blocks one that is.
 */
export function ownerOf(
  name: string,
  servers: readonly MCPServerObject[],
  grants: readonly GrantObject[],
): MCPServerObject | undefined {
  const entitled = servers.filter(
    (s) =>
      s.spec?.name === name &&
      s.metadata.deletionTimestamp === undefined &&
      mayPublish(s.metadata.namespace ?? "", name, grants),
  );
  entitled.sort(
    (a, b) => created(a) - created(b) || objectKey(a.metadata).localeCompare(objectKey(b.metadata)),
  );
  return entitled[0];
}

/** JSON with sorted keys: the registry stores documents as JSONB, which reorders keys. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : item,
  );
}

function summary(issues: readonly ValidationIssue[]): string {
  const errors = issues.filter((issue) => issue.severity === "error");
  const shown = errors.slice(0, 5).map((issue) => issue.message);
  return errors.length > 5 ? `${shown.join("; ")} (and ${errors.length - 5} more)` : shown.join("; ");
}

function refusalText(refusal: RegistryRefusal): string {
  const fields = refusal.errors.map((e) => `${e.location.replace(/^body\./, "")}: ${e.message}`);
  return fields.length > 0 && !refusal.detail.includes(fields[0] ?? "")
    ? `${refusal.detail} (${fields.join("; ")})`
    : refusal.detail;
}

/** A registry refusal as a condition reason: 403 Forbidden, 409 Conflict, anything else a bad document. */
function reasonOf(refusal: RegistryRefusal): FailureReason {
  if (refusal.status === 403) return "Forbidden";
  if (refusal.status === 409) return "Conflict";
  return "Invalid";
}

class Failure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

export function entryUrl(publicUrl: string, name: string, version: string): string {
  return `${publicUrl}/v0.1/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
}

/** Sets one condition; its lastTransitionTime moves only when its status does. */
function withCondition(
  conditions: readonly Condition[],
  type: ConditionType,
  status: Condition["status"],
  reason: ConditionReason,
  message: string,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const previous = conditions.find((c) => c.type === type);
  const next: Condition = {
    type,
    status,
    reason,
    message: message.slice(0, 32_000),
    lastTransitionTime:
      previous !== undefined && previous.status === status
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(generation !== undefined && { observedGeneration: generation }),
  };
  return [...conditions.filter((c) => c.type !== type), next].sort((a, b) => a.type.localeCompare(b.type));
}

/** Writes the status when it changed, and an event when the Ready condition's status or reason changed. */
async function report(
  server: MCPServerObject,
  deps: ReconcileDeps,
  change: {
    published: { status: Condition["status"]; reason: ConditionReason; message: string } | "keep";
    ready: { status: Condition["status"]; reason: ConditionReason; message: string };
    publishedVersion?: string;
    registryUrl?: string;
    eventReason?: string;
  },
): Promise<void> {
  const now = deps.now();
  const generation = server.metadata.generation;
  const before = server.status ?? {};
  let conditions = before.conditions ?? [];
  if (change.published !== "keep") {
    const p = change.published;
    conditions = withCondition(conditions, "Published", p.status, p.reason, p.message, generation, now);
  }
  const r = change.ready;
  conditions = withCondition(conditions, "Ready", r.status, r.reason, r.message, generation, now);
  const status: MCPServerStatus = {
    ...before,
    conditions,
    ...(generation !== undefined && { observedGeneration: generation }),
    ...(change.publishedVersion !== undefined && { publishedVersion: change.publishedVersion }),
    ...(change.registryUrl !== undefined && { registryUrl: change.registryUrl }),
  };
  if (canonical(status) !== canonical(before)) await deps.cluster.writeStatus(server, status);
  const wasReady = before.conditions?.find((c) => c.type === "Ready");
  if (change.eventReason !== undefined || wasReady?.status !== r.status || wasReady.reason !== r.reason) {
    await deps.cluster.event(
      server,
      r.status === "True" ? "Normal" : "Warning",
      change.eventReason ?? r.reason,
      r.message,
    );
  }
}

async function fail(
  server: MCPServerObject,
  deps: ReconcileDeps,
  reason: FailureReason,
  message: string,
): Promise<ReconcileOutcome> {
  const publishedBefore = server.status?.conditions?.find((c) => c.type === "Published");
  // An outage says nothing about what the registry holds: a version it had published stays Published.
  const keep =
    reason === "RegistryUnavailable" &&
    publishedBefore?.status === "True" &&
    server.status?.observedGeneration === server.metadata.generation;
  await report(server, deps, {
    published: keep ? "keep" : { status: "False", reason, message },
    ready: { status: "False", reason, message },
  });
  return { kind: "failed", reason, retry: reason === "RegistryUnavailable", message };
}

type Written = "published" | "edited" | "unchanged";

/** Makes the registry hold `document` as its version: publish it, or edit the version when it differs. */
async function ensureVersion(
  registry: RegistryClient,
  document: ServerJson,
  versions: RegistryEntry[],
): Promise<Written> {
  const existing = versions.find((entry) => entry.server.version === document.version);
  if (existing === undefined) {
    try {
      await registry.publish(document);
      return "published";
    } catch (error) {
      if (!(error instanceof RegistryRefusal)) throw error;
      if (error.status !== 409)
        throw new Failure(
          reasonOf(error),
          `the registry refused ${document.name} ${document.version}: ${refusalText(error)}`,
        );
      // Published meanwhile (by someone else): compare with what is there now.
      const now = await registry.get(document.name, document.version);
      if (now === undefined)
        throw new Failure(
          "Conflict",
          `the registry refused ${document.name} ${document.version}: ${refusalText(error)}`,
        );
      return ensureVersion(registry, document, [now]);
    }
  }
  if (canonical(existing.server) === canonical(document)) return "unchanged";
  try {
    await registry.edit(document.name, document.version, document);
    return "edited";
  } catch (error) {
    if (!(error instanceof RegistryRefusal)) throw error;
    if (error.status === 422 || error.status === 400) {
      throw new Failure(
        "Invalid",
        `the registry refused the change to ${document.version}: ${refusalText(error)}`,
      );
    }
    throw new Failure(
      "Conflict",
      `version ${document.version} is already published with other content and the registry refused the change (${refusalText(error)}); bump spec.version to publish it as a new version`,
    );
  }
}

/** Versions this controller retired when an earlier MCPServer of the name was deleted come back to life. */
async function revive(registry: RegistryClient, name: string, versions: RegistryEntry[]): Promise<boolean> {
  let revived = false;
  for (const entry of versions) {
    if (entry.status !== "active" && entry.statusMessage?.startsWith(RETIRE_PREFIX)) {
      await registry.setStatus(name, String(entry.server.version), "active");
      revived = true;
    }
  }
  return revived;
}

async function publish(server: MCPServerObject, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const namespace = server.metadata.namespace ?? "";
  const result = validateServerJson(server.spec ?? {});
  if (result.server === undefined) {
    return fail(
      server,
      deps,
      "Invalid",
      `spec is not a server.json the registry accepts: ${summary(result.issues)}`,
    );
  }
  const document = result.server;
  const grants = deps.grants();
  if (!mayPublish(namespace, document.name, grants)) {
    const granted = grantsFor(namespace, grants);
    const detail =
      granted.patterns.length === 0
        ? `no MCPNamespaceGrant lists namespace ${namespace}`
        : `namespace ${namespace} may publish ${granted.patterns.join(", ")} (MCPNamespaceGrant ${granted.from.join(", ")})`;
    return fail(
      server,
      deps,
      "Forbidden",
      `${document.name} is not granted to this namespace: ${detail}; ask a cluster administrator for a grant`,
    );
  }
  const owner = ownerOf(document.name, deps.servers(), grants);
  if (owner !== undefined && owner.metadata.uid !== server.metadata.uid) {
    return fail(
      server,
      deps,
      "Conflict",
      `${document.name} is already declared by MCPServer ${objectKey(owner.metadata)}`,
    );
  }
  let written: Written;
  let revived: boolean;
  try {
    const versions = await deps.registry.versions(document.name);
    written = await ensureVersion(deps.registry, document, versions);
    revived = await revive(deps.registry, document.name, versions);
  } catch (error) {
    if (error instanceof Failure) return fail(server, deps, error.reason, error.message);
    if (error instanceof RegistryUnavailableError)
      return fail(server, deps, "RegistryUnavailable", `${error.message}; retrying with backoff`);
    if (error instanceof RegistryRefusal)
      return fail(server, deps, reasonOf(error), `the registry refused: ${refusalText(error)}`);
    throw error;
  }
  const url = entryUrl(deps.publicUrl, document.name, document.version);
  const message = `${document.name} ${document.version} is published at ${url}`;
  const eventReason =
    written === "published"
      ? "Published"
      : written === "edited"
        ? "Updated"
        : revived
          ? "Revived"
          : undefined;
  await report(server, deps, {
    published: { status: "True", reason: "Published", message },
    ready: { status: "True", reason: "Published", message },
    publishedVersion: document.version,
    registryUrl: url,
    eventReason,
  });
  return { kind: written === "unchanged" && !revived ? "unchanged" : "published" };
}

/** `Delete` retires as deleted; anything else (the default) as deprecated. */
export function retireStatus(server: MCPServerObject): RegistryStatus {
  return server.metadata.annotations?.[DELETION_POLICY_ANNOTATION]?.toLowerCase() === "delete"
    ? "deleted"
    : "deprecated";
}

/** A deleted MCPServer: retire what it published, then let it go. */
async function retire(server: MCPServerObject, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  if (!server.metadata.finalizers?.includes(FINALIZER)) return { kind: "unchanged" };
  const name = server.spec?.name;
  const owner = typeof name === "string" ? ownerOf(name, deps.servers(), deps.grants()) : undefined;
  // Only what this object published, and not a name another live MCPServer now declares.
  if (typeof name === "string" && server.status?.publishedVersion !== undefined && owner === undefined) {
    const target = retireStatus(server);
    const message = `${RETIRE_PREFIX} MCPServer ${objectKey(server.metadata)} was deleted`;
    let retired = true;
    try {
      for (const entry of await deps.registry.versions(name)) {
        const change = target === "deprecated" ? entry.status === "active" : entry.status !== "deleted";
        if (change) await deps.registry.setStatus(name, String(entry.server.version), target, message);
      }
    } catch (error) {
      if (error instanceof RegistryUnavailableError) {
        const text = `cannot retire ${name} yet: ${error.message}; the finalizer holds the object until it can`;
        await report(server, deps, {
          published: "keep",
          ready: { status: "False", reason: "RegistryUnavailable", message: text },
        });
        return { kind: "failed", reason: "RegistryUnavailable", retry: true, message: text };
      }
      if (!(error instanceof RegistryRefusal)) throw error;
      // Retrying cannot help and must not block the deletion forever; say so where the team looks.
      retired = false;
      await deps.cluster.event(
        server,
        "Warning",
        reasonOf(error),
        `the registry refused to retire ${name}: ${refusalText(error)}`,
      );
    }
    if (retired)
      await deps.cluster.event(
        server,
        "Normal",
        "Retired",
        `every version of ${name} is ${target} in the registry`,
      );
  }
  await deps.cluster.removeFinalizer(server);
  return { kind: "retired" };
}

export async function reconcile(server: MCPServerObject, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  if (server.metadata.deletionTimestamp !== undefined) return retire(server, deps);
  // The finalizer goes on before anything is published, so no deletion can slip past the retirement.
  const current = server.metadata.finalizers?.includes(FINALIZER)
    ? server
    : await deps.cluster.addFinalizer(server);
  return publish(current, deps);
}

// Applies one stack (the program's objects and everything its charts render) to a real API server in dependency
// order with server-side apply and strict field validation, then waits for the controller manager to create the
// Pods of every workload, so Pod Security Admission judges each against its namespace's level.
import type { KubeClient, KubeObject } from "../cluster/kube-client";
import { KubeApiError } from "../cluster/kube-client";

/** Objects with no backend here: admission webhooks and aggregated APIs would point at Services that never run. */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  ValidatingWebhookConfiguration:
    "its webhook Service has no running backend (no kubelet), so every call would fail",
  MutatingWebhookConfiguration:
    "its webhook Service has no running backend (no kubelet), so every call would fail",
  APIService: "an aggregated API with no running backend would make discovery fail",
};

const WORKLOAD_KINDS = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
]);
const FIRST_KINDS = [
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "ClusterRole",
  "Role",
  "ClusterRoleBinding",
  "RoleBinding",
  "PriorityClass",
];

export interface SourcedObject {
  /** `program <logical name>` or `chart <release>`. */
  readonly source: string;
  readonly object: KubeObject;
}

export interface ApplyResult {
  readonly appliedByKind: Readonly<Record<string, number>>;
  readonly leftOut: readonly string[];
  /** Objects the API server refused, with its message. */
  readonly rejections: readonly string[];
  readonly workloads: readonly KubeObject[];
}

const ref = (o: KubeObject) =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name ?? "(no name)"}`;

const WORKLOAD_PHASE = 4;

function phase(object: KubeObject): number {
  if (object.kind === "Namespace") return 0;
  if (object.kind === "CustomResourceDefinition") return 1;
  if (FIRST_KINDS.includes(object.kind)) return 2;
  if (WORKLOAD_KINDS.has(object.kind)) return WORKLOAD_PHASE;
  return 3;
}

async function waitForCrds(client: KubeClient, names: readonly string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established in ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.forgetDiscovery();
}

/**
 * Applies everything; objects that fail only for ordering (a kind or namespace not there yet) are retried.
 * `beforeWorkloads` runs once, after everything but the workloads is applied (e.g. to wait until the admission
 * policies just applied are enforced, so the workloads are really judged by them).
 */
export async function applyStack(
  client: KubeClient,
  objects: readonly SourcedObject[],
  beforeWorkloads?: () => Promise<void>,
): Promise<ApplyResult> {
  const leftOut: string[] = [];
  const queue: SourcedObject[] = [];
  for (const entry of objects) {
    const reason = LEFT_OUT[entry.object.kind];
    if (reason === undefined) queue.push(entry);
    else leftOut.push(`${ref(entry.object)} (${entry.source}): ${reason}`);
  }
  queue.sort((a, b) => phase(a.object) - phase(b.object));
  const appliedByKind: Record<string, number> = {};
  const workloads: KubeObject[] = [];
  let pending = queue;
  let lastErrors = new Map<SourcedObject, string>();
  for (let pass = 0; pending.length > 0 && pass < 5; pass++) {
    const failed: SourcedObject[] = [];
    lastErrors = new Map();
    let crdsApplied: string[] = [];
    let currentPhase = -1;
    for (const entry of pending) {
      const entryPhase = phase(entry.object);
      if (entryPhase > 1 && currentPhase <= 1 && crdsApplied.length > 0) {
        await waitForCrds(client, crdsApplied);
        crdsApplied = [];
      }
      if (entryPhase === WORKLOAD_PHASE && beforeWorkloads !== undefined) {
        await beforeWorkloads();
        beforeWorkloads = undefined;
      }
      currentPhase = entryPhase;
      try {
        const stored = await client.apply(entry.object);
        appliedByKind[entry.object.kind] = (appliedByKind[entry.object.kind] ?? 0) + 1;
        if (entry.object.kind === "CustomResourceDefinition") crdsApplied.push(stored.metadata.name ?? "");
        if (WORKLOAD_KINDS.has(entry.object.kind)) workloads.push(stored);
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error;
        failed.push(entry);
        lastErrors.set(entry, error.message);
      }
    }
    if (crdsApplied.length > 0) await waitForCrds(client, crdsApplied);
    if (failed.length === pending.length) break;
    pending = failed;
  }
  const rejections = [...lastErrors].map(
    ([entry, message]) => `${ref(entry.object)} (${entry.source}): ${message}`,
  );
  return { appliedByKind, leftOut, rejections, workloads };
}

interface Owned {
  metadata: { name: string; namespace?: string; ownerReferences?: { kind: string; name: string }[] };
}

interface EventItem {
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace?: string };
}

export interface PodOutcome {
  readonly admitted: number;
  /** Workloads that got no Pod, each with the FailedCreate message that says why. */
  readonly failures: readonly string[];
  /** CronJobs are exercised through a Job made from their template (`kubectl create job --from` does the same). */
  readonly jobsFromCronJobs: number;
}

/** What a workload owns that in turn owns Pods: ReplicaSets for Deployments, the Job made from a CronJob. */
function podOwners(workload: KubeObject, replicaSets: readonly Owned[]): { kind: string; name: string }[] {
  const name = workload.metadata.name ?? "";
  if (workload.kind === "Deployment")
    return replicaSets
      .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === name))
      .map((rs) => ({ kind: "ReplicaSet", name: rs.metadata.name }));
  if (workload.kind === "CronJob") return [{ kind: "Job", name: `${name}-admission-check` }];
  return [{ kind: workload.kind, name }];
}

/**
 * Runs every CronJob once (a Job from its template), then waits until each workload owns at least one Pod, or
 * `timeoutMs` passes. A workload whose Pods were refused is reported with the refusal (PSA names the rule).
 */
export async function admitPods(
  client: KubeClient,
  workloads: readonly KubeObject[],
  timeoutMs = 180_000,
): Promise<PodOutcome> {
  let jobsFromCronJobs = 0;
  for (const cron of workloads.filter((w) => w.kind === "CronJob")) {
    const spec = (cron.spec as { jobTemplate: { spec: Record<string, unknown> } }).jobTemplate.spec;
    await client.create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: `${cron.metadata.name}-admission-check`, namespace: cron.metadata.namespace },
      spec,
    });
    jobsFromCronJobs++;
  }
  const candidates = workloads.filter((w) => w.kind !== "Pod");
  const namespaces = [...new Set(candidates.map((w) => w.metadata.namespace ?? "default"))];
  const deadline = Date.now() + timeoutMs;
  let missing: KubeObject[];
  let admitted: number;
  for (;;) {
    const pods: Owned[] = [];
    const replicaSets: Owned[] = [];
    for (const ns of namespaces) {
      pods.push(...((await client.list("v1", "Pod", ns)) as unknown as Owned[]));
      replicaSets.push(...((await client.list("apps/v1", "ReplicaSet", ns)) as unknown as Owned[]));
    }
    admitted = pods.length;
    missing = candidates.filter((w) => {
      const owners = podOwners(
        w,
        replicaSets.filter((rs) => rs.metadata.namespace === w.metadata.namespace),
      );
      return !pods.some(
        (p) =>
          p.metadata.namespace === w.metadata.namespace &&
          p.metadata.ownerReferences?.some((o) => owners.some((x) => x.kind === o.kind && x.name === o.name)),
      );
    });
    if (missing.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const events: EventItem[] = [];
  for (const ns of namespaces)
    events.push(...((await client.list("v1", "Event", ns)) as unknown as EventItem[]));
  const refused = events.filter((e) => e.reason === "FailedCreate");
  const replicaSets: Owned[] = [];
  for (const ns of namespaces)
    replicaSets.push(...((await client.list("apps/v1", "ReplicaSet", ns)) as unknown as Owned[]));
  const failures = missing.map((w) => {
    const owners = [
      { kind: w.kind, name: w.metadata.name ?? "" },
      ...podOwners(
        w,
        replicaSets.filter((rs) => rs.metadata.namespace === w.metadata.namespace),
      ),
    ];
    const why = refused
      .filter(
        (e) =>
          e.involvedObject.namespace === w.metadata.namespace &&
          owners.some((o) => o.kind === e.involvedObject.kind && o.name === e.involvedObject.name),
      )
      .map((e) => `${e.involvedObject.kind} ${e.involvedObject.name}: ${e.message}`);
    return `${ref(w)} got no Pod${why.length > 0 ? `: ${[...new Set(why)].join("; ")}` : " (no FailedCreate event either)"}`;
  });
  // A PodSecurity refusal is a failure even when a later attempt succeeded.
  for (const e of refused.filter((x) => /violates PodSecurity/.test(x.message))) {
    const line = `${e.involvedObject.kind} ${e.involvedObject.namespace}/${e.involvedObject.name}: ${e.message}`;
    if (!failures.some((f) => f.includes(e.message))) failures.push(line);
  }
  return { admitted, failures, jobsFromCronJobs };
}

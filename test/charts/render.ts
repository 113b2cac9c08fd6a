// Renders the Helm releases a stack creates, with the program's exact values, release names, namespaces and chart
// archives, through the real `helm template`, and turns what the program and the charts create into plain
// Kubernetes objects for the policy pack and the API server.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { readArchiveFile } from "../../infra/platform/chart-archive";
import { platformVersions } from "../../infra/versions";
import type { KubeObject } from "../cluster/kube-client";
import type { CapturedResource } from "../support/program";

/** A Helm release as the program registers it under mocks. */
export interface ReleaseSpec {
  /** Pulumi logical name of the Release resource. */
  readonly resourceName: string;
  readonly releaseName: string;
  readonly namespace: string;
  /** A local archive (the tests use the `directory` chart source) or a chart folder (test fixtures). */
  readonly chart: string;
  readonly version: string;
  readonly values: Record<string, unknown>;
}

/** One object a chart renders, with where it came from. */
export interface RenderedObject {
  readonly release: string;
  /** `helm.sh/hook` phases when the object is a hook (e.g. post-install), else empty. */
  readonly hooks: readonly string[];
  readonly object: KubeObject;
}

export const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";

export function releasesOf(resources: readonly CapturedResource[]): ReleaseSpec[] {
  return resources
    .filter((r) => r.type === RELEASE_TYPE)
    .map((r) => ({
      resourceName: r.name,
      releaseName: String(r.inputs.name),
      namespace: String(r.inputs.namespace),
      chart: String(r.inputs.chart),
      version: String(r.inputs.version),
      values: (r.inputs.values ?? {}) as Record<string, unknown>,
    }));
}

export class RenderError extends Error {}

/** Runs a command and resolves with its stdout; rejects with its stderr on a non-zero exit. */
function output(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error) => reject(new RenderError(`${command}: ${error.message}`)));
    child.on("close", (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString("utf8"))
        : reject(new RenderError(Buffer.concat(err).toString("utf8").trim() || `exit ${code}`)),
    );
  });
}

/**
 * The one chart archive that differs from its published chart (../shared/charts/INDEX.md): external-secrets 2.9.0
 * ships its 25 CRDs untemplated in `files/crds-bundle.yaml` instead of as templates. The program installs the
 * published chart with `installCRDs: true`; the tests render this archive with `installCRDs: false` and add the
 * bundle's CRDs to what the release renders, which is what the published chart installs. Nothing in the program
 * changes between test and production.
 */
export const OFFLINE_CRD_BUNDLES: Readonly<Record<string, { value: string; file: string }>> = {
  "external-secrets": { value: "installCRDs", file: "files/crds-bundle.yaml" },
};

function offlineAdaptation(release: ReleaseSpec): {
  values: Record<string, unknown>;
  crds: RenderedObject[];
} {
  const name = path.basename(release.chart).replace(/-v?\d+\.\d+\.\d+\.tgz$/, "");
  const bundle = release.chart.endsWith(".tgz") ? OFFLINE_CRD_BUNDLES[name] : undefined;
  if (bundle === undefined || release.values[bundle.value] !== true)
    return { values: release.values, crds: [] };
  const text = readArchiveFile(release.chart, bundle.file);
  if (text === undefined) throw new RenderError(`${release.chart} has no ${bundle.file}`);
  const crds = parseManifests(text.toString("utf8"), release.releaseName);
  if (crds.length === 0 || crds.some((c) => c.object.kind !== "CustomResourceDefinition"))
    throw new RenderError(`${release.chart}: ${bundle.file} is not a bundle of CRDs`);
  return { values: { ...release.values, [bundle.value]: false }, crds };
}

/** `helm template` of one release; `apiVersions` are passed as the cluster's capabilities. */
export async function renderRelease(
  helm: string,
  release: ReleaseSpec,
  apiVersions: readonly string[] = [],
): Promise<RenderedObject[]> {
  if (!fs.existsSync(release.chart))
    throw new RenderError(`${release.releaseName}: chart ${release.chart} is not a local archive or folder`);
  const adapted = offlineAdaptation(release);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-render-"));
  try {
    const valuesFile = path.join(dir, "values.json");
    fs.writeFileSync(valuesFile, JSON.stringify(adapted.values));
    const args = [
      "template",
      release.releaseName,
      release.chart,
      "--namespace",
      release.namespace,
      "--values",
      valuesFile,
      "--include-crds",
      "--kube-version",
      platformVersions.testKubernetes,
      ...apiVersions.flatMap((v) => ["--api-versions", v]),
    ];
    const text = await output(helm, args).catch((error: Error) => {
      throw new RenderError(
        `helm template ${release.releaseName} (${release.chart}) failed: ${error.message}`,
      );
    });
    return [...adapted.crds, ...parseManifests(text, release.releaseName)];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses multi-document YAML strictly (duplicate keys are errors, as the API server's strict decoding treats them). */
export function parseManifests(text: string, release: string): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length > 0)
      throw new RenderError(`${release}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as KubeObject | null;
    if (value === null || typeof value !== "object") continue;
    if (value.kind === "List" && Array.isArray(value.items)) {
      for (const item of value.items as KubeObject[]) objects.push(withSource(item, release));
    } else objects.push(withSource(value, release));
  }
  return objects;
}

function withSource(object: KubeObject, release: string): RenderedObject {
  const annotations = (object.metadata?.annotations ?? {}) as Record<string, string>;
  const hooks = (annotations["helm.sh/hook"] ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  return { release, hooks, object };
}

/** Group/versions and group/version/Kind strings the CRDs among `objects` will serve. */
export function crdApiVersions(objects: readonly RenderedObject[]): string[] {
  const versions = new Set<string>();
  for (const { object } of objects) {
    if (object.kind !== "CustomResourceDefinition") continue;
    const spec = object.spec as {
      group: string;
      names: { kind: string };
      versions: { name: string; served: boolean }[];
    };
    for (const v of spec.versions.filter((version) => version.served)) {
      versions.add(`${spec.group}/${v.name}`);
      versions.add(`${spec.group}/${v.name}/${spec.names.kind}`);
    }
  }
  return [...versions].sort();
}

const crdsByChart = new Map<string, Promise<RenderedObject[]>>();

/** The CRDs a chart renders (cached per archive: no stack sets CRD values differently; renderStack checks it). */
function chartCrds(helm: string, release: ReleaseSpec): Promise<RenderedObject[]> {
  let crds = crdsByChart.get(release.chart);
  if (crds === undefined) {
    crds = renderRelease(helm, release).then((objects) =>
      objects.filter((o) => o.object.kind === "CustomResourceDefinition"),
    );
    crdsByChart.set(release.chart, crds);
  }
  return crds;
}

const crdNames = (objects: readonly RenderedObject[]) =>
  objects
    .filter((o) => o.object.kind === "CustomResourceDefinition")
    .map((o) => o.object.metadata.name)
    .sort();

/**
 * Every release of a stack, rendered with the API versions of every chart's CRDs as capabilities (as the cluster
 * serves them once the CRDs are installed), so templates gated on `.Capabilities.APIVersions` render as deployed.
 */
export async function renderStack(helm: string, releases: readonly ReleaseSpec[]): Promise<RenderedObject[]> {
  const crds = await Promise.all(releases.map((r) => chartCrds(helm, r)));
  const apiVersions = crdApiVersions(crds.flat());
  const rendered = await Promise.all(releases.map((r) => renderRelease(helm, r, apiVersions)));
  rendered.forEach((objects, i) => {
    const expected = crdNames(crds[i]!);
    const actual = crdNames(objects);
    if (expected.join() !== actual.join())
      throw new RenderError(
        `${releases[i]!.releaseName}: its CRDs differ between stacks (${actual} vs ${expected})`,
      );
  });
  return rendered.flat();
}

/** Kinds that never live in a namespace: the built-in ones, plus every CRD of cluster scope. */
export function clusterScopedKinds(objects: readonly RenderedObject[]): Set<string> {
  const kinds = new Set([
    "Namespace",
    "Node",
    "PersistentVolume",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ]);
  for (const { object } of objects) {
    if (object.kind !== "CustomResourceDefinition") continue;
    const spec = object.spec as { scope: string; names: { kind: string } };
    if (spec.scope === "Cluster") kinds.add(spec.names.kind);
  }
  return kinds;
}

/** Sets the release namespace on namespaced objects that a chart leaves without one, as `helm install` does. */
export function placeInNamespaces(
  rendered: RenderedObject[],
  releases: readonly ReleaseSpec[],
): RenderedObject[] {
  const clusterScoped = clusterScopedKinds(rendered);
  const namespaceOf = new Map(releases.map((r) => [r.releaseName, r.namespace]));
  return rendered.map((r) => {
    if (clusterScoped.has(r.object.kind) || r.object.metadata.namespace) return r;
    const object = { ...r.object, metadata: { ...r.object.metadata, namespace: namespaceOf.get(r.release) } };
    return { ...r, object };
  });
}

/** The program's own Kubernetes objects (Helm releases excluded), as the provider would send them. */
export function programObjects(
  resources: readonly CapturedResource[],
): { resourceName: string; object: KubeObject }[] {
  return resources
    .filter(
      (r) =>
        r.type.startsWith("kubernetes:") &&
        !r.type.startsWith("kubernetes:helm.sh/") &&
        typeof r.inputs.kind === "string" &&
        typeof r.inputs.apiVersion === "string",
    )
    .map((r) => ({ resourceName: r.name, object: r.inputs as KubeObject }));
}

/** The Pulumi type token an object would have as a `@pulumi/kubernetes` resource. */
export function typeToken(object: Pick<KubeObject, "apiVersion" | "kind">): string {
  const apiVersion = object.apiVersion.includes("/") ? object.apiVersion : `core/${object.apiVersion}`;
  return `kubernetes:${apiVersion}:${object.kind}`;
}

/** A stable name for a chart-rendered object: `<release>:<Kind>:<namespace>/<name>`, what exemptions key on. */
export function renderedName(r: RenderedObject): string {
  const ns = r.object.metadata.namespace ?? "";
  return `${r.release}:${r.object.kind}:${ns ? `${ns}/` : ""}${r.object.metadata.name ?? ""}`;
}

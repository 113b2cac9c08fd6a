// Offline schema validation of the Kubernetes objects the program creates directly, with kubernetes-models
// (core and built-in APIs) and the @kubernetes-models/* CRD packages where one exists.
import * as path from "node:path";
import type { CapturedResource } from "./program";

/** Packages holding models for a CRD API group; the core models cover the built-in groups. */
const crdPackages: Readonly<Record<string, string>> = {
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

interface ModelClass {
  new (data: unknown): { validate(): void };
}

export type SchemaResult =
  { status: "valid" } | { status: "invalid"; message: string } | { status: "no-model"; reason: string };

/** A Kubernetes object as the provider would receive it: `kubernetes:<group/version>:<Kind>` resources. */
export function isKubernetesObject(resource: CapturedResource): boolean {
  return (
    resource.type.startsWith("kubernetes:") &&
    !resource.type.startsWith("kubernetes:helm.sh/") &&
    !resource.type.startsWith("kubernetes:yaml/") &&
    !resource.type.startsWith("pulumi:providers:") &&
    typeof resource.inputs.kind === "string"
  );
}

/** Validates one object against its model; `no-model` when neither kubernetes-models nor a CRD package has it. */
export function validateObject(object: Record<string, unknown>): SchemaResult {
  const apiVersion = String(object.apiVersion ?? "");
  const kind = String(object.kind ?? "");
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const modulePath =
    group === ""
      ? `kubernetes-models/${version}/${kind}`
      : crdPackages[group!] !== undefined
        ? `${crdPackages[group!]}/${group}/${version}/${kind}`
        : `kubernetes-models/${group}/${version}/${kind}`;
  let Model: ModelClass | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(
      require.resolve(modulePath, { paths: [path.resolve(__dirname, "..", "..")] }),
    ) as Record<string, ModelClass>;
    Model = loaded[kind];
  } catch {
    return { status: "no-model", reason: `no model package has ${apiVersion} ${kind}` };
  }
  if (Model === undefined) return { status: "no-model", reason: `${modulePath} exports no ${kind}` };
  try {
    new Model(object).validate();
    return { status: "valid" };
  } catch (error) {
    return { status: "invalid", message: error instanceof Error ? error.message : String(error) };
  }
}

/** Validates every directly created Kubernetes object; returns one line per invalid object. */
export function schemaProblems(resources: readonly CapturedResource[]): string[] {
  const problems: string[] = [];
  for (const resource of resources.filter(isKubernetesObject)) {
    const result = validateObject(resource.inputs);
    if (result.status === "invalid") problems.push(`${resource.type} ${resource.name}: ${result.message}`);
  }
  return problems;
}

/** Kinds the program creates for which no model exists (reported by tests so the gap stays visible). */
export function kindsWithoutModel(resources: readonly CapturedResource[]): string[] {
  const kinds = new Set<string>();
  for (const resource of resources.filter(isKubernetesObject)) {
    if (validateObject(resource.inputs).status === "no-model")
      kinds.add(`${String(resource.inputs.apiVersion)} ${String(resource.inputs.kind)}`);
  }
  return [...kinds].sort();
}

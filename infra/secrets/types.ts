// How the program puts a secret value into a Kubernetes Secret, whichever way the stack keeps secrets: plain
// Kubernetes Secrets from stack config and generated values (local), or Google Secret Manager synced into the
// cluster by External Secrets Operator (staging, production). One interface, two implementations, chosen in index.ts.
import type * as pulumi from "@pulumi/pulumi";
import type { SecretId } from "./catalog";

/** One secret value, stored once and usable in several Kubernetes Secrets (the drill reader's password is in two). */
export interface SecretValue {
  readonly id: SecretId;
  /** What consumers of a Secret built from it hash into their restart annotation (a version, or a digest). */
  readonly revision: pulumi.Output<string>;
}

export interface SecretSpec {
  /** The secret manager's store admits listed namespaces only (ClusterSecretStore conditions). */
  readonly namespace: pulumi.Input<string>;
  /** The Kubernetes Secret's name: what pods and operators refer to. */
  readonly name: string;
  /** Defaults to Opaque. */
  readonly type?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Each key: a stored secret value, or a literal that is not secret (a user name). */
  readonly data: Readonly<Record<string, SecretValue | string>>;
}

/** A Kubernetes Secret the store provides. */
export interface ManagedSecret {
  /** The Secret's name, once whatever produces it exists (dependents wait on it). */
  readonly name: pulumi.Output<string>;
  /** Changes when any stored value in it changes: put it in a pod-template annotation to restart consumers. */
  readonly revision: pulumi.Output<string>;
  /** The resource that produces the Secret (a Secret, or an ExternalSecret). */
  readonly resource: pulumi.Resource;
}

export interface SecretStore {
  readonly kind: "kubernetes" | "secret-manager";
  /** Stores a secret value under its catalog id (`value` is a secret Output); once per id. */
  value(id: SecretId, value: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): SecretValue;
  /** Provides a Kubernetes Secret built from stored values and literals. */
  secret(resourceName: string, spec: SecretSpec, opts: pulumi.CustomResourceOptions): ManagedSecret;
}

/** The annotation whose change restarts a workload's pods when a secret it reads at start-up changes. */
export const SECRET_REVISION_ANNOTATION = "mcp-registry.io/secret-revision";

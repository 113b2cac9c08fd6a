// `local`: secret values (stack config secrets and values Pulumi generates) go straight into Kubernetes Secrets,
// encrypted in Pulumi's state and stored as the cluster stores any Secret. No secret manager runs on a laptop.
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretId } from "./catalog";
import type { ManagedSecret, SecretSpec, SecretStore, SecretValue } from "./types";

interface LocalValue extends SecretValue {
  readonly value: pulumi.Output<string>;
}

export class KubernetesSecretStore implements SecretStore {
  readonly kind = "kubernetes" as const;
  private readonly values = new Map<SecretId, LocalValue>();

  value(id: SecretId, value: pulumi.Input<string>): SecretValue {
    if (this.values.has(id)) throw new Error(`secret value ${id} is stored twice`);
    const secret = pulumi.secret(value);
    // A digest, not the value: it only has to change when the value does.
    const stored: LocalValue = {
      id,
      value: secret,
      revision: pulumi.unsecret(secret.apply((v) => digest([v]))),
    };
    this.values.set(id, stored);
    return stored;
  }

  secret(resourceName: string, spec: SecretSpec, opts: pulumi.CustomResourceOptions): ManagedSecret {
    const entries = Object.entries(spec.data).map(([key, item]) => {
      if (typeof item === "string") return { key, value: pulumi.output(item) };
      const stored = this.values.get(item.id);
      if (stored === undefined) throw new Error(`Secret ${spec.name}: value ${item.id} was never stored`);
      return { key, value: stored.value };
    });
    const stringData = Object.fromEntries(entries.map(({ key, value }) => [key, value]));
    const secret = new k8s.core.v1.Secret(
      resourceName,
      {
        metadata: {
          name: spec.name,
          namespace: spec.namespace,
          ...(spec.labels ? { labels: { ...spec.labels } } : {}),
        },
        type: spec.type ?? "Opaque",
        stringData,
      },
      opts,
    );
    const revision = pulumi
      .all(entries.map(({ key, value }) => value.apply((v) => `${key}=${v}`)))
      .apply((parts) => digest(parts));
    // The digest is not the secret; keeping it plain keeps pod-template diffs readable.
    return { name: secret.metadata.name, revision: pulumi.unsecret(revision), resource: secret };
  }
}

function digest(parts: readonly string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 16);
}

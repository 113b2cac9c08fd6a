// The registry's own secrets: the Ed25519 key that signs registry tokens (from @pulumi/tls, PKCS#8 PEM, which
// the app accepts) and the GitHub OAuth client secret from stack config, each in a Kubernetes Secret provided by
// the stack's secret store (directly on Minikube, from Secret Manager through External Secrets on GKE).
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { appLabels } from "../lib/workload";
import { packageCredentialId } from "../secrets/catalog";
import type { ManagedSecret, SecretStore } from "../secrets/types";

export interface RegistrySecretsArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  /** The GitHub OAuth app's client secret (secret Output) when GitHub login is configured. */
  readonly githubClientSecret: pulumi.Output<string> | undefined;
  /** Tokens and passwords of private package registries, by credential URL (secret Outputs). */
  readonly packageRegistryCredentials?: Readonly<Record<string, pulumi.Output<string>>>;
  readonly store: SecretStore;
}

/** Secret names and keys the registry's pods read (all values stay in Secrets, never in the pod spec). */
export interface RegistrySecretRefs {
  readonly jwt: { readonly name: string; readonly key: string };
  readonly github: { readonly name: string; readonly key: string } | undefined;
  /** One key per package-registry credential URL in one Secret. */
  readonly packageCredentials?: { readonly name: string; readonly keys: Readonly<Record<string, string>> };
  /** Changes whenever a secret the pods read at start-up changes (a pod-template annotation restarts them). */
  readonly revision: pulumi.Output<string>;
}

export class RegistrySecrets extends pulumi.ComponentResource {
  readonly refs: RegistrySecretRefs;
  /** The signing key as PEM (a secret Output); exposed for tests, never exported. */
  readonly jwtPrivateKeyPem: pulumi.Output<string>;
  readonly githubClientSecret: pulumi.Output<string> | undefined;
  /** What provides each Secret (a Secret or an ExternalSecret): the registry's pods wait for them. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: RegistrySecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistrySecrets", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const labels = appLabels("registry", "server");
    const { store } = args;

    const key = new tls.PrivateKey(`${name}-jwt`, { algorithm: "ED25519" }, { parent: this });
    this.jwtPrivateKeyPem = pulumi.secret(key.privateKeyPem);
    const jwt = store.secret(
      `${name}-jwt`,
      {
        namespace: args.namespace,
        name: "registry-jwt",
        labels,
        data: { "private-key.pem": store.value("registry-jwt-signing-key", this.jwtPrivateKeyPem, child) },
      },
      child,
    );
    const provided = [jwt];

    this.githubClientSecret = undefined;
    let github: RegistrySecretRefs["github"] = undefined;
    if (args.githubClientSecret !== undefined) {
      this.githubClientSecret = pulumi.secret(args.githubClientSecret);
      github = { name: "registry-github", key: "client-secret" };
      const value = store.value("registry-github-client-secret", this.githubClientSecret, child);
      provided.push(
        store.secret(
          `${name}-github`,
          { namespace: args.namespace, name: github.name, labels, data: { [github.key]: value } },
          child,
        ),
      );
    }
    const packageCredentials = this.packageCredentials(name, args, labels, child);
    if (packageCredentials !== undefined) provided.push(packageCredentials.provided);
    this.ready = provided.map((p) => p.resource);
    this.refs = {
      jwt: { name: "registry-jwt", key: "private-key.pem" },
      github,
      ...(packageCredentials !== undefined && { packageCredentials: packageCredentials.ref }),
      revision: pulumi.all(provided.map((p) => p.revision)).apply((parts) => parts.join(".")),
    };
    this.registerOutputs({});
  }

  /** Keys are positions (`credential-0`, …) in URL order: URLs are not valid Secret keys. */
  private packageCredentials(
    name: string,
    args: RegistrySecretsArgs,
    labels: Record<string, string>,
    child: pulumi.CustomResourceOptions,
  ): { ref: NonNullable<RegistrySecretRefs["packageCredentials"]>; provided: ManagedSecret } | undefined {
    const urls = Object.keys(args.packageRegistryCredentials ?? {}).sort();
    if (urls.length === 0) return undefined;
    const keys = Object.fromEntries(urls.map((url, i) => [url, `credential-${i}`]));
    const data = Object.fromEntries(
      urls.map((url, i) => [
        keys[url] as string,
        args.store.value(
          packageCredentialId(i),
          pulumi.secret(args.packageRegistryCredentials?.[url] ?? ""),
          child,
        ),
      ]),
    );
    const ref = { name: "registry-package-credentials", keys };
    const provided = args.store.secret(
      `${name}-package-credentials`,
      { namespace: args.namespace, name: ref.name, labels, data },
      child,
    );
    return { ref, provided };
  }
}

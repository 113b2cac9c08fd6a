// The registry's own secrets: the Ed25519 key that signs registry tokens (from @pulumi/tls, PKCS#8 PEM, which
// the app accepts) and the GitHub OAuth client secret from stack config, each in a Kubernetes Secret.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { appLabels } from "../lib/workload";

export interface RegistrySecretsArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  /** The GitHub OAuth app's client secret (secret Output) when GitHub login is configured. */
  readonly githubClientSecret: pulumi.Output<string> | undefined;
  /** Tokens and passwords of private package registries, by credential URL (secret Outputs). */
  readonly packageRegistryCredentials?: Readonly<Record<string, pulumi.Output<string>>>;
}

/** Secret names and keys the registry's pods read (all values stay in Secrets, never in the pod spec). */
export interface RegistrySecretRefs {
  readonly jwt: { readonly name: string; readonly key: string };
  readonly github: { readonly name: string; readonly key: string } | undefined;
  /** One key per package-registry credential URL in one Secret. */
  readonly packageCredentials?: { readonly name: string; readonly keys: Readonly<Record<string, string>> };
}

export class RegistrySecrets extends pulumi.ComponentResource {
  readonly refs: RegistrySecretRefs;
  /** The signing key as PEM (a secret Output); exposed for tests, never exported. */
  readonly jwtPrivateKeyPem: pulumi.Output<string>;
  readonly githubClientSecret: pulumi.Output<string> | undefined;

  constructor(name: string, args: RegistrySecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistrySecrets", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const labels = appLabels("registry", "server");

    const key = new tls.PrivateKey(`${name}-jwt`, { algorithm: "ED25519" }, { parent: this });
    this.jwtPrivateKeyPem = pulumi.secret(key.privateKeyPem);
    new k8s.core.v1.Secret(
      `${name}-jwt`,
      {
        metadata: { name: "registry-jwt", namespace: args.namespace, labels },
        type: "Opaque",
        stringData: { "private-key.pem": this.jwtPrivateKeyPem },
      },
      child,
    );

    this.githubClientSecret = undefined;
    let github: RegistrySecretRefs["github"] = undefined;
    if (args.githubClientSecret !== undefined) {
      this.githubClientSecret = pulumi.secret(args.githubClientSecret);
      github = { name: "registry-github", key: "client-secret" };
      new k8s.core.v1.Secret(
        `${name}-github`,
        {
          metadata: { name: github.name, namespace: args.namespace, labels },
          type: "Opaque",
          stringData: { [github.key]: this.githubClientSecret },
        },
        child,
      );
    }
    const packageCredentials = this.packageCredentials(name, args, labels);
    this.refs = {
      jwt: { name: "registry-jwt", key: "private-key.pem" },
      github,
      ...(packageCredentials !== undefined && { packageCredentials }),
    };
    this.registerOutputs({});
  }

  /** Keys are positions (`credential-0`, …) in URL order: URLs are not valid Secret keys. */
  private packageCredentials(
    name: string,
    args: RegistrySecretsArgs,
    labels: Record<string, string>,
  ): RegistrySecretRefs["packageCredentials"] {
    const urls = Object.keys(args.packageRegistryCredentials ?? {}).sort();
    if (urls.length === 0) return undefined;
    const keys = Object.fromEntries(urls.map((url, i) => [url, `credential-${i}`]));
    new k8s.core.v1.Secret(
      `${name}-package-credentials`,
      {
        metadata: { name: "registry-package-credentials", namespace: args.namespace, labels },
        type: "Opaque",
        stringData: Object.fromEntries(
          urls.map((url) => [
            keys[url] as string,
            pulumi.secret(args.packageRegistryCredentials?.[url] ?? ""),
          ]),
        ),
      },
      { parent: this, provider: args.provider },
    );
    return { name: "registry-package-credentials", keys };
  }
}

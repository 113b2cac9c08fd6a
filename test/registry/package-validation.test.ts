import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { DATABASE_CLUSTER_NAME, REGISTRY_NAMESPACE } from "../../infra/data/naming";
import {
  RegistryApp,
  packageRegistryPorts,
  packageSecretVariable,
  registryEnv,
  type RegistryDatabaseRef,
} from "../../infra/registry/app";
import { RegistryPackageIdentity, repositoryParts } from "../../infra/registry/identity";
import { RegistrySecrets, type RegistrySecretRefs } from "../../infra/registry/secrets";
import { KubernetesSecretStore } from "../../infra/secrets/kubernetes";
import { loadSettings, SettingsError, type Settings } from "../../infra/settings";
import { schemaProblems } from "../support/k8s-schema";
import { stackConfig, type ResourceInputs, type StackName } from "../support/program";
import { capture, isSecretPath, named, platform } from "./support";

const direct: RegistryDatabaseRef = {
  host: "mcp-registry-db-rw",
  appSecretName: "mcp-registry-db-app",
  viaPooler: false,
  podSelectors: [{ "cnpg.io/cluster": DATABASE_CLUSTER_NAME }],
};
const baseSecrets: RegistrySecretRefs = {
  jwt: { name: "registry-jwt", key: "private-key.pem" },
  github: undefined,
  revision: pulumi.output("1"),
};

const NPM = "https://europe-west1-npm.pkg.dev/acme/npm-private";
const NEXUS = "https://nexus.internal.example:8443/repository/pypi";
const OCI = "https://registry.internal.example";
const REPOSITORY = "projects/acme-packages/locations/europe-west1/repositories/npm-private";

const validation = {
  enabled: true,
  npmRegistryUrls: ["https://registry.npmjs.org", NPM],
  pypiUrls: ["https://pypi.org", NEXUS],
  ociRegistries: ["docker.io", "ghcr.io", "registry.internal.example:5443"],
  allowPrivate: true,
  authenticatedRegistries: [
    { url: NPM, workloadIdentity: true },
    { url: NEXUS, username: "verifier" },
    { url: OCI },
  ],
  artifactRegistryRepositories: [REPOSITORY],
};
const SECRET_KEYS = new Set(["mcp-registry:githubClientSecret", "mcp-registry:packageRegistryCredentials"]);
const credentialSecrets = { [NEXUS]: "nexus-password", [OCI]: "oci-token" };

/** A stack's settings with the registry's packageValidation replaced and the credential secret set. */
function settingsWith(
  stack: StackName,
  packageValidation: unknown,
  secrets: Record<string, unknown> | string | null = credentialSecrets,
): Settings {
  const values = stackConfig(stack);
  const registry = JSON.parse(values["mcp-registry:registry"] ?? "{}") as Record<string, unknown>;
  values["mcp-registry:registry"] = JSON.stringify({ ...registry, packageValidation });
  values["mcp-registry:githubClientSecret"] = "gh";
  if (secrets !== null)
    values["mcp-registry:packageRegistryCredentials"] =
      typeof secrets === "string" ? secrets : JSON.stringify(secrets);
  return loadSettings({ values, isSecret: (key) => SECRET_KEYS.has(key), stack });
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof SettingsError) return [...error.problems];
    throw error;
  }
  return [];
}

async function deploy(settings: Settings, googleServiceAccount?: string) {
  let refs: RegistrySecretRefs | undefined;
  const resources = await capture((provider) => {
    const secrets = new RegistrySecrets("secrets", {
      provider,
      namespace: REGISTRY_NAMESPACE,
      githubClientSecret: undefined,
      packageRegistryCredentials: settings.secrets.packageRegistryCredentials,
      store: new KubernetesSecretStore(),
    });
    refs = secrets.refs;
    new RegistryApp("registry", {
      provider,
      namespace: REGISTRY_NAMESPACE,
      image: "registry.example/registry@sha256:" + "a".repeat(64),
      imagePullPolicy: "IfNotPresent",
      registry: settings.registry,
      database: direct,
      secrets: secrets.refs,
      spreadAcrossZones: false,
      platform,
      dependsOn: [],
      googleServiceAccount,
    });
  });
  return { resources, refs: refs as RegistrySecretRefs };
}

describe("registry: package verification in the deployment", () => {
  it("sets the switch per stack: off locally, on in staging and production", () => {
    for (const [stack, value] of [
      ["local", "false"],
      ["staging", "true"],
      ["production", "true"],
    ] as const) {
      const settings = loadSettings({
        values: { ...stackConfig(stack), "mcp-registry:githubClientSecret": "gh" },
        isSecret: (key) => key.endsWith("Secret"),
        stack,
      });
      const env = new Map(registryEnv(settings.registry, direct, baseSecrets).map((e) => [e.name, e]));
      assert.equal(env.get("MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION")?.value, value, stack);
      assert.equal(env.get("MCP_REGISTRY_PACKAGE_CREDENTIALS"), undefined, "no credentials configured");
    }
  });

  it("passes lists as values and credentials as variables from a Secret, named in the credentials JSON", async () => {
    const settings = settingsWith("production", validation);
    const { resources, refs } = await deploy(settings, "mcp-registry-packages@acme.iam.gserviceaccount.com");
    const secret = named(resources, "Secret", "registry-package-credentials");
    assert.deepEqual(Object.keys(secret.stringData).sort(), ["credential-0", "credential-1"]);
    for (const key of ["credential-0", "credential-1"]) {
      const captured = resources.find((r) => r.inputs.metadata?.name === "registry-package-credentials");
      assert.equal(isSecretPath(captured, `stringData.${key}`), true, `${key} is a secret output`);
    }
    assert.deepEqual(
      Object.values(secret.stringData).sort(),
      ["nexus-password", "oci-token"],
      "the values from the secret config key",
    );
    const deployment = named(resources, "Deployment", "registry");
    const env = new Map<string, ResourceInputs>(
      deployment.spec.template.spec.containers[0].env.map((e: ResourceInputs) => [e.name, e]),
    );
    assert.equal(env.get("MCP_REGISTRY_NPM_REGISTRY_URLS")?.value, `https://registry.npmjs.org,${NPM}`);
    assert.equal(env.get("MCP_REGISTRY_PYPI_URLS")?.value, `https://pypi.org,${NEXUS}`);
    assert.equal(
      env.get("MCP_REGISTRY_OCI_REGISTRIES")?.value,
      "docker.io,ghcr.io,registry.internal.example:5443",
    );
    assert.equal(env.get("MCP_REGISTRY_NUGET_URLS"), undefined, "unset lists keep the app's defaults");
    assert.equal(env.get("MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE")?.value, "true");
    assert.deepEqual(JSON.parse(String(env.get("MCP_REGISTRY_PACKAGE_CREDENTIALS")?.value)), [
      { url: NPM, gcpMetadata: true },
      { url: NEXUS, username: "verifier", passwordEnv: packageSecretVariable(1) },
      { url: OCI, tokenEnv: packageSecretVariable(2) },
    ]);
    assert.deepEqual(env.get(packageSecretVariable(1))?.valueFrom, {
      secretKeyRef: { name: "registry-package-credentials", key: refs.packageCredentials?.keys[NEXUS] },
    });
    assert.deepEqual(env.get(packageSecretVariable(2))?.valueFrom, {
      secretKeyRef: { name: "registry-package-credentials", key: refs.packageCredentials?.keys[OCI] },
    });
    const values = [...env.values()].map((e) => String(e.value ?? ""));
    assert.ok(
      !values.some((v) => v.includes("nexus-password") || v.includes("oci-token")),
      "no secret in a value",
    );
    assert.deepEqual(named(resources, "ServiceAccount", "registry").metadata.annotations, {
      "iam.gke.io/gcp-service-account": "mcp-registry-packages@acme.iam.gserviceaccount.com",
    });
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("opens egress to the registries' other ports, and to the GKE metadata server only for Workload Identity", async () => {
    const { resources } = await deploy(settingsWith("production", validation));
    const egress = named(resources, "NetworkPolicy", "registry-egress").spec.egress as ResourceInputs[];
    assert.deepEqual(
      egress[1]?.ports.map((p: ResourceInputs) => p.port),
      [443, 5443, 8443],
    );
    assert.deepEqual(egress[1]?.to[0].ipBlock.except, ["169.254.169.254/32"]);
    assert.deepEqual(
      egress.slice(2).map((rule) => [rule.to[0].ipBlock.cidr, rule.ports[0].port]),
      [
        ["169.254.169.254/32", 80],
        ["169.254.169.252/32", 988],
      ],
    );
    const plain = await deploy(settingsWith("production", { enabled: true }, null));
    const plainEgress = named(plain.resources, "NetworkPolicy", "registry-egress").spec
      .egress as ResourceInputs[];
    assert.equal(plainEgress.length, 2, "no metadata server without Workload Identity");
    assert.deepEqual(
      packageRegistryPorts(settingsWith("production", { enabled: true }, null).registry.packageValidation),
      [],
    );
    assert.equal(named(plain.resources, "ServiceAccount", "registry").metadata.annotations, undefined);
  });

  it("creates the Google service account, its Workload Identity binding and reader grants on the repositories", async () => {
    const resources = await capture(() => {
      new RegistryPackageIdentity("registry-packages", {
        project: "mcp-registry-production",
        pool: "mcp-registry-production.svc.id.goog",
        namespace: REGISTRY_NAMESPACE,
        serviceAccountName: "registry",
        repositories: [REPOSITORY],
      });
    });
    const account = resources.find((r) => r.type === "gcp:serviceaccount/account:Account");
    assert.equal(account?.inputs.accountId, "mcp-registry-packages");
    const binding = resources.find((r) => r.type === "gcp:serviceaccount/iAMMember:IAMMember");
    assert.equal(binding?.inputs.role, "roles/iam.workloadIdentityUser");
    assert.equal(
      binding?.inputs.member,
      `serviceAccount:mcp-registry-production.svc.id.goog[${REGISTRY_NAMESPACE}/registry]`,
    );
    const reader = resources.find(
      (r) => r.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    );
    assert.deepEqual(
      {
        project: reader?.inputs.project,
        location: reader?.inputs.location,
        repository: reader?.inputs.repository,
        role: reader?.inputs.role,
      },
      {
        project: "acme-packages",
        location: "europe-west1",
        repository: "npm-private",
        role: "roles/artifactregistry.reader",
      },
    );
    assert.throws(() => repositoryParts("acme/npm"), /is not projects\/<project>\/locations/);
  });

  it("refuses settings that would deploy a credential without its secret, or a secret in plain text", () => {
    const withoutValue = problemsOf(() =>
      settingsWith("production", validation, { [NEXUS]: "nexus-password" }),
    );
    assert.deepEqual(withoutValue.length, 1);
    assert.match(
      withoutValue[0] ?? "",
      /packageRegistryCredentials: has no value for 'https:\/\/registry\.internal\.example'/,
    );
    assert.ok(!withoutValue.join(" ").includes("nexus-password"), "no secret value in a message");
    assert.match(
      problemsOf(() =>
        settingsWith("production", validation, { ...credentialSecrets, "https://typo.example": "x" }),
      ).join("\n"),
      /'https:\/\/typo\.example' is not the url of a token or password entry/,
    );
    assert.match(
      problemsOf(() => settingsWith("production", validation, "[1,2]")).join("\n"),
      /must be a JSON object/,
    );
    assert.match(
      problemsOf(() =>
        settingsWith(
          "local",
          { enabled: true, authenticatedRegistries: [{ url: NPM, workloadIdentity: true }] },
          undefined,
        ),
      ).join("\n"),
      /authenticatedRegistries\[0\]\.workloadIdentity: needs a GKE cluster/,
    );
    assert.match(
      problemsOf(() =>
        settingsWith(
          "production",
          { enabled: true, authenticatedRegistries: [{ url: NPM, workloadIdentity: true, username: "x" }] },
          undefined,
        ),
      ).join("\n"),
      /workloadIdentity takes no username/,
    );
    assert.match(
      problemsOf(() =>
        settingsWith("production", { enabled: true, artifactRegistryRepositories: [REPOSITORY] }, null),
      ).join("\n"),
      /artifactRegistryRepositories: needs an authenticatedRegistries entry with workloadIdentity: true/,
    );
    assert.match(
      problemsOf(() =>
        settingsWith("production", { enabled: true, npmRegistryUrls: ["http://npm.example"] }, null),
      ).join("\n"),
      /packageValidation\.npmRegistryUrls\[0\]: must be an https:\/\/ URL/,
    );
    const plaintext = problemsOf(() => {
      const values = {
        ...stackConfig("staging"),
        "mcp-registry:packageRegistryCredentials": JSON.stringify(credentialSecrets),
      };
      loadSettings({ values, isSecret: () => false, stack: "staging" });
    });
    assert.ok(
      plaintext.some((line) =>
        /packageRegistryCredentials: looks like a secret but is stored in plain text/.test(line),
      ),
      plaintext.join("\n"),
    );
  });

  it("keeps secret outputs secret through the settings", async () => {
    const settings = settingsWith("production", validation);
    assert.equal(
      await pulumi.isSecret(settings.secrets.packageRegistryCredentials[NEXUS] as pulumi.Output<string>),
      true,
    );
  });
});

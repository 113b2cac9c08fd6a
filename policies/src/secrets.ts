// Secrets: secret-looking stack config must be a Pulumi secret, Kubernetes Secrets must not be fed from
// plaintext config or placeholders, and ConfigMaps hold no secrets.
//
// What a policy can observe about secretness (@pulumi/policy 1.21.0, deserialize.js): analyze and analyzeStack
// deserialise properties with secret markers dropped, so validateResource/validateStack see plain values and
// cannot tell a secret Output from a literal. Only remediations see markers, and @pulumi/kubernetes wraps every
// Secret's data/stringData in pulumi.secret whatever its source, so the marker on a Secret proves nothing.
// The checks below therefore look at where secret values come from: the stack's configuration file (which
// records `secure:` for every Pulumi secret) and the values themselves.
import * as fs from "node:fs";
import { K8S, objectRef } from "./core/kubernetes";
import { resourcePolicy, stackPolicy } from "./core/policy";
import {
  SECRET_ENV_NAME,
  SECRET_KEY_NAME,
  credentialKind,
  isPlaceholder,
  readStackConfig,
  resolveFromPack,
  type StackConfigEntry,
} from "./core/secrets";
import { rec, str } from "./core/values";

const STACK_CONFIG_FILE = {
  type: "string",
  default: "",
  description:
    "The stack's Pulumi.<stack>.yaml, relative to the policy pack; empty where the pack runs without the repository.",
} as const;

function stackConfigOrProblem(file: string): StackConfigEntry[] | string {
  const resolved = resolveFromPack(file);
  if (!fs.existsSync(resolved))
    return `the stack configuration file ${file} does not exist (looked for ${resolved})`;
  try {
    return readStackConfig(resolved);
  } catch (error) {
    return `cannot read the stack configuration file ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export const stackConfigEncrypted = stackPolicy({
  name: "secrets-stack-config-encrypted",
  description:
    "Secret-looking stack configuration is stored as Pulumi secrets: in the stack's configuration file (config " +
    "stackConfigFile), every key or nested field whose name ends in secret, password, token, apikey, privatekey, " +
    "credential(s) or accesskey is a `secure:` value, and no plaintext value contains a credential (private key, " +
    "known token formats, a URL with a password). Limits: values passed with --config flags or from Pulumi ESC " +
    "environments are not in the file and are not seen; not applicable where stackConfigFile is not set.",
  severity: "critical",
  category: "security",
  remediationSteps:
    "Run `pulumi config set --secret <key> <value>` (with --path for nested fields) and remove the plaintext " +
    "value from the stack file and its git history.",
  controls: [{ source: "Project baseline", id: "Secrets encrypted in stack configuration" }],
  appliesTo: [],
  config: { stackConfigFile: STACK_CONFIG_FILE },
  validate: ({ config, report, notApplicable }) => {
    if (config.stackConfigFile === "")
      return notApplicable("no stackConfigFile is configured for this stack");
    const entries = stackConfigOrProblem(config.stackConfigFile);
    if (typeof entries === "string") return report(entries);
    for (const entry of entries) {
      if (entry.secure) continue;
      if (SECRET_KEY_NAME.test(entry.name)) {
        report(`${config.stackConfigFile}: ${entry.key} looks secret but is stored in plain text`);
        continue;
      }
      const kind = credentialKind(entry.value ?? "");
      if (kind !== undefined)
        report(`${config.stackConfigFile}: ${entry.key} contains ${kind} in plain text`);
    }
  },
});

function decodeBase64(value: string): string {
  return Buffer.from(value, "base64").toString("utf8");
}

/** Secret keys that hold credentials (`password`, `GITHUB_CLIENT_SECRET`, `tls.key`, `ACCESS_KEY_ID`). */
function isCredentialKey(key: string): boolean {
  return SECRET_ENV_NAME.test(key) || SECRET_KEY_NAME.test(key) || /(^|[._-])key$/i.test(key);
}

export const secretDataSource = resourcePolicy({
  name: "secrets-kubernetes-secret-source",
  description:
    "Kubernetes Secret data comes from secret outputs: a credential key of a Secret (password, token, secret, " +
    "key, ...) may not be empty or a placeholder (changeme, admin, prom-operator, ...), and no Secret value may " +
    "equal a plaintext value of the stack's configuration file (config stackConfigFile), which would mean the " +
    "secret was fed from unencrypted config. Limit: a value typed into the program as a literal cannot be told " +
    "from a generated one (policies see secrets unwrapped); infra tests assert those are secret Outputs.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Feed the Secret from a Pulumi secret: @pulumi/random / @pulumi/tls outputs, or config read with " +
    "requireSecret after `pulumi config set --secret`.",
  controls: [{ source: "Project baseline", id: "Secrets only from secret outputs" }],
  appliesTo: [K8S.secret],
  config: { stackConfigFile: STACK_CONFIG_FILE },
  validate: ({ resource, config, report }) => {
    const values: [string, string][] = [
      ...Object.entries(rec(resource.props.data) ?? {}).map(([k, v]): [string, string] => [
        k,
        decodeBase64(str(v) ?? ""),
      ]),
      ...Object.entries(rec(resource.props.stringData) ?? {}).map(([k, v]): [string, string] => [
        k,
        str(v) ?? "",
      ]),
    ];
    let plaintext = new Set<string>();
    if (config.stackConfigFile !== "") {
      const entries = stackConfigOrProblem(config.stackConfigFile);
      if (typeof entries === "string") report(entries);
      else plaintext = new Set(entries.map((e) => e.value ?? "").filter((v) => v.length >= 6));
    }
    const ref = objectRef(resource.props, resource.name);
    for (const [key, value] of values) {
      if (isCredentialKey(key) && isPlaceholder(value)) {
        report(
          `Secret ${ref} key ${key} holds ${value === "" ? "an empty value" : `the placeholder "${value}"`}`,
        );
      } else if (plaintext.has(value)) {
        report(`Secret ${ref} key ${key} equals a plaintext value of ${config.stackConfigFile}`);
      }
    }
  },
});

export const noSecretsInConfigMaps = resourcePolicy({
  name: "secrets-not-in-configmaps",
  description:
    "ConfigMaps hold no secrets: no key named like a secret (…PASSWORD, …SECRET, …TOKEN, …API_KEY, …PRIVATE_KEY, " +
    "…CREDENTIALS, …ACCESS_KEY) and no value containing a credential (private key, known token formats, a URL " +
    "with a password). ConfigMaps are unencrypted and readable by anyone who can read the namespace's config.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Move the value into a Kubernetes Secret fed from a Pulumi secret and mount or reference that.",
  controls: [{ source: "Project baseline", id: "No secrets in ConfigMaps" }],
  appliesTo: [K8S.configMap],
  validate: ({ resource, report }) => {
    const ref = objectRef(resource.props, resource.name);
    for (const [key, value] of Object.entries(rec(resource.props.data) ?? {})) {
      const text = str(value) ?? "";
      if ((SECRET_ENV_NAME.test(key) || SECRET_KEY_NAME.test(key)) && text !== "") {
        report(`ConfigMap ${ref} key ${key} looks like a secret`);
        continue;
      }
      const kind = credentialKind(text);
      if (kind !== undefined) report(`ConfigMap ${ref} key ${key} contains ${kind}`);
    }
  },
});

export const secretPolicies = [stackConfigEncrypted, secretDataSource, noSecretsInConfigMaps];

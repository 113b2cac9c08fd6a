// Shared mock harness: runs the whole Pulumi program (infra/index.ts) for one stack under Pulumi mocks and
// returns every resource it registered. Used by test/infra, test/registry and test/policies.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { secretKeys } from "../../infra/settings";

export type StackName = "local" | "staging" | "production";
export const stackNames: readonly StackName[] = ["local", "staging", "production"];

export const repoRoot = path.resolve(__dirname, "..", "..");
const programEntry = path.join(repoRoot, "infra", "index.ts");
const PROJECT = "mcp-registry";

/** Inputs are whatever the SDK serialised; tests narrow them with their own assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResourceInputs = Record<string, any>;

export interface CapturedResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment` or `gcp:container/cluster:Cluster`. */
  type: string;
  name: string;
  urn: string;
  /** Inputs as the provider would receive them (Outputs resolved; secrets unwrapped). */
  inputs: ResourceInputs;
  opts: { protect?: boolean; parent?: string; provider?: string };
}

export interface ProgramRun {
  resources: CapturedResource[];
  /** The program's exported stack outputs, resolved. */
  outputs: Record<string, unknown>;
  /** Wall-clock milliseconds from loading the program to the last registration. */
  elapsedMs: number;
}

export interface RunOptions {
  /** Full keys (`mcp-registry:githubClientSecret`) to store as plain text although the program treats them as secret. */
  plaintextKeys?: string[];
  /** Extra full keys to mark secret. */
  secretKeys?: string[];
}

/**
 * Config overrides are full keys (`mcp-registry:registry`, `gcp:project`) mapped to the raw string Pulumi
 * would deliver (structured values as JSON); `undefined` removes the key from the stack's file.
 */
export type ConfigOverrides = Record<string, string | undefined>;

/** Runs the program for `stack` under mocks and captures the resource graph. */
export async function runProgram(
  stack: StackName,
  overrides: ConfigOverrides = {},
  options: RunOptions = {},
): Promise<ProgramRun> {
  const resources: CapturedResource[] = [];
  await configure(stack, overrides, options, resources);
  const started = performance.now();
  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  const restoreStacks = cheapStackTraces();
  try {
    const program = loadProgramModule();
    const outputs = await resolveExports(program);
    await waitForRegistrations();
    if (failures.length > 0) throw failures[0];
    return { resources, outputs, elapsedMs: performance.now() - started };
  } finally {
    restoreStacks();
    process.off("unhandledRejection", onRejection);
  }
}

/**
 * The SDK records `new Error().stack` for every promise it creates. Under mocha (unlimited stack depth) and tsx
 * (source maps on), formatting those stacks dominated a run, seconds per stack; Node's defaults apply meanwhile.
 */
function cheapStackTraces(): () => void {
  const proc = process as NodeJS.Process & { sourceMapsEnabled?: boolean };
  const sourceMaps = proc.sourceMapsEnabled ?? true;
  const limit = Error.stackTraceLimit;
  process.setSourceMapsEnabled(false);
  Error.stackTraceLimit = 10;
  return () => {
    process.setSourceMapsEnabled(sourceMaps);
    Error.stackTraceLimit = limit;
  };
}

/** Loads the program for `stack` expecting it to fail; returns the error message (throws if it succeeds). */
export async function loadProgramError(
  stack: StackName,
  overrides: ConfigOverrides = {},
  options: RunOptions = {},
): Promise<string> {
  const resources: CapturedResource[] = [];
  await configure(stack, overrides, options, resources);
  try {
    loadProgramModule();
  } catch (error) {
    if (resources.length > 0) {
      throw new Error(`the program registered ${resources.length} resources before failing`, {
        cause: error,
      });
    }
    return error instanceof Error ? error.message : String(error);
  }
  await waitForRegistrations();
  throw new Error(`the ${stack} program loaded without error (${resources.length} resources)`);
}

/** The stack's configuration as Pulumi would pass it: `namespace:key` → raw string. */
export function stackConfig(stack: StackName): Record<string, string> {
  const file = path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (isSecureValue(value)) continue; // encrypted values are replaced by fakes below
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return config;
}

/** The program's secret keys (infra/settings.ts `secretKeys`), as full `namespace:key` names. */
export function declaredSecretKeys(): string[] {
  return secretKeys.map((key) => `${PROJECT}:${key}`);
}

/** Resources of one type token. */
export function ofType(resources: readonly CapturedResource[], type: string): CapturedResource[] {
  return resources.filter((r) => r.type === type);
}

/** The single resource of a type and name; throws naming what exists otherwise. */
export function findResource(
  resources: readonly CapturedResource[],
  type: string,
  name: string,
): CapturedResource {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (found === undefined) {
    const names = ofType(resources, type).map((r) => r.name);
    throw new Error(`no ${type} named ${name}; found: ${names.join(", ") || "none"}`);
  }
  return found;
}

// -------------------------------------------------------------------------------------------------------------

/** Fakes for secret keys whose value has a structure (JSON); the others get a recognisable string. */
const FAKE_SECRETS: Readonly<Record<string, string>> = { [`${PROJECT}:packageRegistryCredentials`]: "{}" };

async function configure(
  stack: StackName,
  overrides: ConfigOverrides,
  options: RunOptions,
  resources: CapturedResource[],
): Promise<void> {
  const config = stackConfig(stack);
  const plaintext = new Set(options.plaintextKeys ?? []);
  const secrets = new Set([...declaredSecretKeys(), ...(options.secretKeys ?? [])]);
  for (const key of secrets) {
    if (!(key in overrides)) config[key] = FAKE_SECRETS[key] ?? `test-${key.replace(/[^a-zA-Z0-9]/g, "-")}`;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  const secretList = [...secrets].filter((key) => !plaintext.has(key) && key in config);

  await pulumi.runtime.setMocks(
    new GraphRecorder(resources, config["gcp:project"] ?? "test-project"),
    PROJECT,
    stack,
    false,
  );
  captureRegistrationOptions(resources);
  pulumi.runtime.setAllConfig(config, secretList);
}

function loadProgramModule(): Record<string, unknown> {
  // A fresh module cache for the program, so each stack re-runs it top to bottom in the same process.
  const infraDir = path.join(repoRoot, "infra") + path.sep;
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(infraDir)) delete require.cache[key];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(programEntry) as Record<string, unknown>;
}

async function resolveExports(program: Record<string, unknown>): Promise<Record<string, unknown>> {
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(program)) {
    outputs[name] = pulumi.Output.isInstance(value) ? await outputValue(value) : value;
  }
  return outputs;
}

export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

async function waitForRegistrations(): Promise<void> {
  // `waitForRPCs` is exported by the runtime but marked internal; it drains every outstanding registration.
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (runtime.waitForRPCs === undefined) throw new Error("this @pulumi/pulumi has no runtime.waitForRPCs");
  await runtime.waitForRPCs();
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect(): boolean;
  getProvider(): string;
}

/** Mock resource monitors hide parent and protect from `newResource`; read them off the request instead. */
function captureRegistrationOptions(resources: CapturedResource[]): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    original(req, (err, res) => {
      const urn = (res as { getUrn?: () => string } | undefined)?.getUrn?.();
      const captured = resources.find(
        (r) => r.type === req.getType() && r.name === req.getName() && r.urn === "",
      );
      if (captured !== undefined) {
        captured.urn = urn ?? "";
        captured.opts = {
          ...(req.getProtect() ? { protect: true } : {}),
          ...(req.getParent() ? { parent: req.getParent() } : {}),
          ...(req.getProvider() ? { provider: req.getProvider() } : {}),
        };
      }
      callback(err, res);
    });
}

/** Pulumi's wire marker for a secret value (`{ <sig>: <secret sig>, value }`). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs with every secret envelope replaced by its value (the Kubernetes SDK wraps Secret data, for one). */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (record[SECRET_SIG_KEY] === SECRET_SIG_VALUE) return unwrapSecrets(record.value);
  return Object.fromEntries(Object.entries(record).map(([key, child]) => [key, unwrapSecrets(child)]));
}

function isSecureValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value;
}

/** Records registrations and answers with plausible provider outputs, so dependent code sees real shapes. */
class GraphRecorder implements pulumi.runtime.Mocks {
  constructor(
    private readonly resources: CapturedResource[],
    private readonly gcpProject: string,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    this.resources.push({
      type: args.type,
      name: args.name,
      urn: "",
      inputs: unwrapSecrets(args.inputs) as ResourceInputs,
      opts: {},
    });
    return { id: `${args.name}-id`, state: { ...(args.inputs as ResourceInputs), ...this.computed(args) } };
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    switch (args.token) {
      case "gcp:organizations/getProject:getProject":
        return { projectId: this.gcpProject, number: "123456789012", name: this.gcpProject };
      case "gcp:organizations/getClientConfig:getClientConfig":
        return { project: this.gcpProject, accessToken: "test-access-token" };
      default:
        return args.inputs as pulumi.runtime.MockCallResult;
    }
  }

  private computed(args: pulumi.runtime.MockResourceArgs): ResourceInputs {
    const inputs = args.inputs as ResourceInputs;
    switch (args.type) {
      case "gcp:container/cluster:Cluster":
        return {
          name: inputs.name ?? args.name,
          endpoint: "10.0.0.2",
          masterAuth: { clusterCaCertificate: Buffer.from("test-ca").toString("base64") },
        };
      case "gcp:serviceaccount/account:Account":
        return {
          email: `${inputs.accountId}@${this.gcpProject}.iam.gserviceaccount.com`,
          name: inputs.accountId,
        };
      case "gcp:compute/address:Address":
      case "gcp:compute/globalAddress:GlobalAddress":
        return { address: "203.0.113.10" };
      case "gcp:storage/bucket:Bucket":
        return { name: inputs.name ?? args.name, url: `gs://${inputs.name ?? args.name}` };
      case "gcp:storage/hmacKey:HmacKey":
        return { accessId: "GOOG1ETESTACCESSID", secret: "test-hmac-secret" };
      case "gcp:kms/cryptoKey:CryptoKey":
        return { id: `${inputs.keyRing}/cryptoKeys/${inputs.name ?? args.name}` };
      case "gcp:kms/keyRing:KeyRing":
        return {
          id: `projects/${this.gcpProject}/locations/${inputs.location}/keyRings/${inputs.name ?? args.name}`,
        };
      case "gcp:artifactregistry/repository:Repository":
        return { name: inputs.repositoryId ?? args.name };
      case "gcp:secretmanager/secretVersion:SecretVersion":
        return { version: "1", name: `${inputs.secret}/versions/1` };
      case "random:index/randomPassword:RandomPassword":
      case "random:index/randomString:RandomString":
        return { result: `test-random-${args.name}` };
      case "tls:index/privateKey:PrivateKey":
        return {
          privateKeyPem: "-----BEGIN PRIVATE KEY-----\ntest\n-----END PRIVATE KEY-----\n",
          publicKeyPem: "test",
        };
      case "command:local:Command": {
        // The registry image build (infra/registry/image.ts): buildx prints its metadata JSON with the pushed
        // digest, Minikube's build the local tag; a digest derived from the tag keeps runs deterministic.
        const image = String((inputs.environment as Record<string, unknown> | undefined)?.IMAGE ?? "");
        if (!String(inputs.create ?? "").includes("docker buildx build")) return { stdout: `${image}\n` };
        const digest = `sha256:${createHash("sha256").update(image).digest("hex")}`;
        return { stdout: `${JSON.stringify({ "containerimage.digest": digest, "image.name": image })}\n` };
      }
      case "tls:index/selfSignedCert:SelfSignedCert":
        return { certPem: "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n" };
      default:
        return {};
    }
  }
}

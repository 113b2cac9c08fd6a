// Runs a component builder under Pulumi mocks and returns what it registered (for components tested alone).
import * as pulumi from "@pulumi/pulumi";
import type { CapturedResource, ResourceInputs } from "../support/program";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (SECRET_SIG in record) return unwrap(record.value);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
}

/** Registers what `build` creates, waits for every registration, and returns the resources and its result. */
export async function capture<T>(
  build: () => T,
  project = "mcp-registry-test",
  call: (args: pulumi.runtime.MockCallArgs) => pulumi.runtime.MockCallResult = (args) => args.inputs,
): Promise<{ resources: CapturedResource[]; result: T; calls: pulumi.runtime.MockCallArgs[] }> {
  const calls: pulumi.runtime.MockCallArgs[] = [];
  const resources: CapturedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = unwrap(args.inputs) as ResourceInputs;
        resources.push({ type: args.type, name: args.name, urn: "", inputs, opts: {} });
        const computed: ResourceInputs = {};
        if (args.type.startsWith("random:")) computed.result = `test-random-${args.name}`;
        if (args.type === "gcp:serviceaccount/account:Account") {
          computed.email = `${inputs.accountId}@${project}.iam.gserviceaccount.com`;
          computed.name = `projects/${project}/serviceAccounts/${inputs.accountId}`;
        }
        if (args.type === "gcp:storage/hmacKey:HmacKey")
          Object.assign(computed, { accessId: "GOOG1EID", secret: "hmac-secret" });
        return { id: `${args.name}-id`, state: { ...inputs, ...computed } };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        calls.push(args);
        return call(args);
      },
    },
    "mcp-registry",
    "test",
    false,
  );
  const result = build();
  const runtime = pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> };
  await runtime.waitForRPCs();
  return { resources, result, calls };
}

export function outputOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

// In-cluster guardrails: the policy pack's key pod and image rules as ValidatingAdmissionPolicies (CEL, run by the
// API server itself, no webhook), bound in every namespace the stack creates. CrossGuard judges what Pulumi deploys;
// these judge everything else too (a `kubectl apply`, a Helm upgrade outside Pulumi). Built by the pack's own module
// (policies/src/core/admission.ts) from the stack's pack config and the reviewed exemptions that are live today.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { exemptions } from "../../policies/exemptions";
import { validateExemptions } from "../../policies/src/core/exemption";
import {
  admissionParams,
  guardrailManifests,
  type AdmissionMode,
  type GuardrailInput,
} from "../../policies/src/core/admission";
import type { Environment } from "../settings";

/** policies/config/<stack>.json: the same parameters (allowed registries, CPU limits) CrossGuard runs with. */
export function packConfigFile(environment: Environment): string {
  return path.resolve(__dirname, "..", "..", "policies", "config", `${environment}.json`);
}

export interface AdmissionGuardrailsArgs {
  readonly provider: k8s.Provider;
  readonly environment: Environment;
  readonly mode: AdmissionMode;
  /** Every namespace the stack creates: each gets a binding of every policy. */
  readonly namespaces: readonly string[];
  /** YYYY-MM-DD the exemptions are judged live on; today (the deploy date) by default. */
  readonly today?: string;
  readonly dependsOn: pulumi.Resource[];
}

/** The manifests for a stack, read from its pack config (pure apart from reading that file). */
export function stackGuardrails(
  args: Omit<AdmissionGuardrailsArgs, "provider" | "dependsOn">,
): ReturnType<typeof guardrailManifests> {
  const file = packConfigFile(args.environment);
  const config = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  validateExemptions(exemptions);
  const input: GuardrailInput = {
    params: admissionParams(config),
    mode: args.mode,
    namespaces: args.namespaces,
    exemptions,
    // An exemption stops exempting at the first deploy after it expires (the nightly drift check flags that day).
    today: args.today ?? new Date().toISOString().slice(0, 10),
  };
  return guardrailManifests(input);
}

export class AdmissionGuardrails extends pulumi.ComponentResource {
  readonly policies: k8s.admissionregistration.v1.ValidatingAdmissionPolicy[] = [];
  readonly bindings: k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding[] = [];

  constructor(name: string, args: AdmissionGuardrailsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:AdmissionGuardrails", name, {}, opts);
    const manifests = stackGuardrails(args);
    const child = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    for (const manifest of manifests) {
      const { metadata, spec } = manifest;
      if (manifest.kind === "ValidatingAdmissionPolicy") {
        this.policies.push(
          new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-${metadata.name}`,
            {
              metadata,
              spec: spec as k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicySpec,
            },
            child,
          ),
        );
      } else {
        this.bindings.push(
          new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-${metadata.name}`,
            {
              metadata,
              spec: spec as k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec,
            },
            // A binding of a policy that does not exist yet would be ignored until it does.
            { ...child, dependsOn: [...args.dependsOn, ...this.policies] },
          ),
        );
      }
    }
    this.registerOutputs({ policies: this.policies.length, bindings: this.bindings.length });
  }
}

// The CrossGuard policy pack: builds the PolicyPack from the policy list and nothing else.
//
// How the Pulumi CLI loads it (`pulumi preview|up --policy-pack policies`, `pulumi policy publish`): the Node.js
// language host runs @pulumi/pulumi's cmd/run-policy-pack with this directory as the working directory. That
// runner registers ts-node (the project's, else the copy vendored in @pulumi/pulumi) with the `typescript`
// package it finds in node_modules (5.9.3 here), type-checks with policies/tsconfig.json, and requires this
// directory, i.e. package.json's "main": index.ts. There is no build step; the PolicyPack constructor reads the
// version from ./package.json and serves the analyzer over gRPC. `--policy-pack-config policies/config/<stack>.json`
// sets each policy's enforcement level and options for that stack. policies/tsconfig.json is self-contained and
// typescript/@types/node are pack dependencies, so a published pack compiles the same way outside this repository.
import {
  PolicyPack,
  type Policies,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "@pulumi/policy";
import type { PackPolicy } from "./src/core/policy";
import { policies } from "./src/policies";

/** CrossGuard's own fields only; the external controls travel as tags. */
function toCrossGuard(policy: PackPolicy): ResourceValidationPolicy | StackValidationPolicy {
  const common = {
    name: policy.name,
    description: policy.description,
    enforcementLevel: policy.enforcementLevel,
    severity: policy.severity,
    remediationSteps: policy.remediationSteps,
    tags: [policy.category, ...policy.controls.map((c) => `${c.source}: ${c.id}`)],
    ...(policy.configSchema === undefined ? {} : { configSchema: policy.configSchema }),
  };
  return policy.kind === "resource"
    ? { ...common, validateResource: policy.validateResource }
    : { ...common, validateStack: policy.validateStack };
}

const pack: Policies = policies.map(toCrossGuard);

new PolicyPack("mcp-registry-policies", {
  description: "UBI images and security hardening for the MCP registry stacks (local, staging, production).",
  enforcementLevel: "mandatory",
  policies: pack,
});

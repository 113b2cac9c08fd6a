// Every policy of the pack, grouped by subject. A plain array so tests and the report generator can call each
// policy's validate function directly; index.ts alone builds the PolicyPack from it.
import { availabilityPolicies } from "./availability";
import type { PackPolicy } from "./core/policy";
import { crdPolicies } from "./crds";
import { dataProtectionPolicies } from "./data-protection";
import { gkePolicies } from "./gke";
import { guardrailPolicies } from "./guardrails";
import { imagePolicies } from "./images";
import { networkPolicies } from "./network";
import { podPolicies } from "./pods";
import { rbacPolicies } from "./rbac";
import { secretPolicies } from "./secrets";
import { stackPolicies } from "./stack";

export const policySubjects: readonly {
  readonly subject: string;
  readonly policies: readonly PackPolicy[];
}[] = [
  { subject: "Images", policies: imagePolicies },
  { subject: "Pods", policies: podPolicies },
  { subject: "Availability", policies: availabilityPolicies },
  { subject: "Network", policies: networkPolicies },
  { subject: "RBAC", policies: rbacPolicies },
  { subject: "Custom resources", policies: crdPolicies },
  { subject: "Data protection", policies: dataProtectionPolicies },
  { subject: "GKE", policies: gkePolicies },
  { subject: "Secrets", policies: secretPolicies },
  { subject: "Guardrails", policies: guardrailPolicies },
  { subject: "Stack", policies: stackPolicies },
];

export const policies: readonly PackPolicy[] = policySubjects.flatMap((s) => s.policies);

/**
 * Subjects whose policies also judge every object the program's Helm charts render (test/charts renders them with
 * the real charts and the program's values, in CI and for REPORT.md). The other subjects look at resources only the
 * program itself creates (GKE, buckets, backups) or at cross-resource wiring the program owns (PDBs and
 * NetworkPolicies per Deployment); chart workloads get those through their chart values.
 */
export const CHART_SUBJECTS: readonly string[] = ["Images", "Pods"];

export const chartPolicies: readonly PackPolicy[] = policySubjects
  .filter((s) => CHART_SUBJECTS.includes(s.subject))
  .flatMap((s) => s.policies);

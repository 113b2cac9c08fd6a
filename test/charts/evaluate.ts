// The policy pack over what the charts render: the Images and Pods policies (policies/src/policies.ts
// `chartPolicies`) over every chart-rendered object, with the program's Namespaces so the PSA policy can see them.
import { K8S } from "../../policies/src/core/kubernetes";
import {
  evaluateStack,
  type PackConfig,
  type PolicyOutcome,
  type StackResource,
} from "../../policies/src/evaluate";
import { chartPolicies } from "../../policies/src/policies";
import type { StackName } from "../support/program";
import { installed, programSubjects, renderedSubject, type ChartStack } from "./stack";

/** The subjects of the chart evaluation: chart-rendered objects plus the program's Namespace objects. */
export function chartSubjects(chart: ChartStack): StackResource[] {
  return [
    ...programSubjects(chart.resources).filter((r) => r.type === K8S.namespace),
    ...installed(chart.rendered).map((r) => renderedSubject(chart.stack, r)),
  ];
}

export function evaluateCharts(
  stack: StackName,
  subjects: readonly StackResource[],
  config: PackConfig,
): PolicyOutcome[] {
  return evaluateStack(subjects, config, chartPolicies);
}

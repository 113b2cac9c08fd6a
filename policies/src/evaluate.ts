// Runs the pack's policies over a captured resource list the way the CrossGuard analyzer does (same args,
// same unknown-value proxy, same object-form violations), for the conformance tests and the report.
import {
  unknownCheckingProxy,
  type EnforcementLevel,
  type PolicyResource,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import type { PackPolicy } from "./core/policy";
import { policies as allPolicies } from "./policies";

/** One resource as the engine would hand it over (inputs; `protect` from its options). */
export interface StackResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Readonly<Record<string, unknown>>;
  readonly protect: boolean;
}

/** The content of a `--policy-pack-config` file: per policy, an enforcement level and options. */
export type PackConfig = Readonly<
  Record<string, { readonly enforcementLevel?: EnforcementLevel; readonly [option: string]: unknown }>
>;

export interface Finding {
  readonly policy: string;
  /** Enforcement level the violation is reported at (advisory for exempted findings). */
  readonly level: "advisory" | "mandatory";
  readonly message: string;
  /** The resource the violation is about (undefined for a whole-stack violation). */
  readonly urn?: string;
  readonly exempted: boolean;
}

export interface PolicyOutcome {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  /** Resources the policy looked at (for whole-stack checks: 1, the stack). */
  readonly checked: number;
  readonly passed: number;
  readonly failed: number;
  readonly exempted: number;
  /** In-scope resources (or the whole stack) the policy declared not applicable, with the reasons. */
  readonly notApplicable: number;
  readonly notApplicableReasons: readonly string[];
  readonly findings: readonly Finding[];
}

class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Violation = string | { message: string; enforcementLevel?: EnforcementLevel; urn?: string };

function optionsOf(config: PackConfig, policy: string): Record<string, unknown> {
  const { enforcementLevel: _level, ...options } = config[policy] ?? {};
  return options;
}

function levelOf(config: PackConfig, policy: PackPolicy): EnforcementLevel {
  return config[policy.name]?.enforcementLevel ?? policy.enforcementLevel;
}

function policyOptions(resource: StackResource): PolicyResource["opts"] {
  return {
    protect: resource.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason ?? "not applicable");
};

/** The arguments CrossGuard passes to validateResource, for one resource. */
export function resourceArgs(
  resource: StackResource,
  options: Record<string, unknown>,
): ResourceValidationArgs {
  const props = unknownCheckingProxy(resource.props as Record<string, unknown>) as Record<string, unknown>;
  return {
    type: resource.type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: policyOptions(resource),
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => options as T,
    notApplicable,
  };
}

/** The arguments CrossGuard passes to validateStack. */
export function stackArgs(
  resources: readonly StackResource[],
  options: Record<string, unknown>,
): StackValidationArgs {
  const list: PolicyResource[] = resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: unknownCheckingProxy(r.props as Record<string, unknown>) as Record<string, unknown>,
    opts: policyOptions(r),
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  }));
  return {
    resources: list,
    stackTags: new Map(),
    getConfig: <T extends object>() => options as T,
    notApplicable,
  };
}

export interface Collected {
  readonly violations: { readonly message: string; readonly urn?: string; readonly exempted: boolean }[];
  readonly notApplicable?: string;
}

/** Calls a resource policy's validateResource on one resource and collects what it reports. */
export function runResourcePolicy(
  policy: PackPolicy,
  resource: StackResource,
  options: Record<string, unknown> = {},
): Collected {
  if (policy.kind !== "resource") throw new Error(`${policy.name} is a stack policy`);
  const violations: Collected["violations"] = [];
  const report = (v: Violation) => violations.push(normalise(v, resource.urn));
  try {
    void policy.validateResource(resourceArgs(resource, options), report as (message: string) => void);
  } catch (error) {
    if (error instanceof NotApplicable) return { violations, notApplicable: error.reason };
    throw error;
  }
  return { violations };
}

/** Calls a stack policy's validateStack and collects what it reports. */
export function runStackPolicy(
  policy: PackPolicy,
  resources: readonly StackResource[],
  options: Record<string, unknown> = {},
): Collected {
  if (policy.kind !== "stack") throw new Error(`${policy.name} is a resource policy`);
  const violations: Collected["violations"] = [];
  const report = (v: Violation, urn?: string) => violations.push(normalise(v, urn));
  try {
    void policy.validateStack(
      stackArgs(resources, options),
      report as (message: string, urn?: string) => void,
    );
  } catch (error) {
    if (error instanceof NotApplicable) return { violations, notApplicable: error.reason };
    throw error;
  }
  return { violations };
}

function normalise(violation: Violation, urn: string | undefined): Collected["violations"][number] {
  if (typeof violation === "string")
    return { message: violation, exempted: false, ...(urn === undefined ? {} : { urn }) };
  const target = violation.urn ?? urn;
  return {
    message: violation.message,
    exempted: violation.enforcementLevel === "advisory",
    ...(target === undefined ? {} : { urn: target }),
  };
}

/** Runs every policy over one stack's resources with that stack's pack config. */
export function evaluateStack(
  resources: readonly StackResource[],
  config: PackConfig,
  policyList: readonly PackPolicy[] = allPolicies,
): PolicyOutcome[] {
  return policyList.map((policy) => {
    const enforcementLevel = levelOf(config, policy);
    const options = optionsOf(config, policy.name);
    const level = enforcementLevel === "advisory" ? "advisory" : "mandatory";
    const empty = { policy: policy.name, enforcementLevel, checked: 0, passed: 0, failed: 0, exempted: 0 };
    if (enforcementLevel === "disabled")
      return { ...empty, notApplicable: 0, notApplicableReasons: [], findings: [] };
    const findings: Finding[] = [];
    const record = (v: Collected["violations"][number]) =>
      findings.push({
        policy: policy.name,
        level: v.exempted ? "advisory" : level,
        message: v.message,
        exempted: v.exempted === true,
        ...(v.urn === undefined ? {} : { urn: v.urn }),
      });
    const inScope = resources.filter((r) => policy.appliesTo.includes(r.type));
    if (policy.kind === "resource") {
      let passed = 0;
      let failed = 0;
      let exempted = 0;
      const reasons: string[] = [];
      for (const resource of inScope) {
        const result = runResourcePolicy(policy, resource, options);
        result.violations.forEach(record);
        if (result.notApplicable !== undefined) reasons.push(result.notApplicable);
        else if (result.violations.some((v) => !v.exempted)) failed++;
        else if (result.violations.length > 0) exempted++;
        else passed++;
      }
      const checked = inScope.length - reasons.length;
      return {
        ...empty,
        checked,
        passed,
        failed,
        exempted,
        notApplicable: reasons.length,
        notApplicableReasons: reasons,
        findings,
      };
    }
    const result = runStackPolicy(policy, resources, options);
    result.violations.forEach(record);
    if (result.notApplicable !== undefined) {
      return { ...empty, notApplicable: 1, notApplicableReasons: [result.notApplicable], findings };
    }
    const subjects = policy.appliesTo.length === 0 ? 1 : inScope.length;
    const failedUrns = new Set(result.violations.filter((v) => !v.exempted).map((v) => v.urn ?? "<stack>"));
    const exemptedUrns = new Set(
      result.violations
        .filter((v) => v.exempted && !failedUrns.has(v.urn ?? "<stack>"))
        .map((v) => v.urn ?? "<stack>"),
    );
    const failed = failedUrns.size;
    const exempted = exemptedUrns.size;
    return {
      ...empty,
      checked: Math.max(subjects, failed + exempted),
      passed: Math.max(0, subjects - failed - exempted),
      failed,
      exempted,
      notApplicable: 0,
      notApplicableReasons: [],
      findings,
    };
  });
}

// Shared helpers for the policy tests: hand-built resources, calling one policy the way CrossGuard does, and
// each stack's resources captured from the real program under mocks (cached: one program run per stack).
import * as fs from "node:fs";
import * as path from "node:path";
import {
  evaluateStack,
  runResourcePolicy,
  runStackPolicy,
  type PackConfig,
  type StackResource,
} from "../../policies/src/evaluate";
import type { PackPolicy } from "../../policies/src/core/policy";
import { repoRoot, runProgram, type StackName } from "../support/program";

export type Props = Record<string, unknown>;

/** A hand-built resource; the URN follows Pulumi's format so stack policies can point at it. */
export function resource(type: string, name: string, props: Props, protect = false): StackResource {
  return { type, name, urn: `urn:pulumi:test::mcp-registry::${type}::${name}`, props, protect };
}

export interface Outcome {
  readonly messages: string[];
  /** Messages of violations reported as exempted (advisory). */
  readonly exempted: string[];
  readonly notApplicable?: string;
}

/** Runs one resource policy on one resource (options override the policy's defaults). */
export function checkResource(policy: PackPolicy, subject: StackResource, options: Props = {}): Outcome {
  const result = runResourcePolicy(policy, subject, options);
  return {
    messages: result.violations.filter((v) => !v.exempted).map((v) => v.message),
    exempted: result.violations.filter((v) => v.exempted).map((v) => v.message),
    ...(result.notApplicable === undefined ? {} : { notApplicable: result.notApplicable }),
  };
}

/** Runs one stack policy over a hand-built stack. */
export function checkStack(
  policy: PackPolicy,
  resources: readonly StackResource[],
  options: Props = {},
): Outcome {
  const result = runStackPolicy(policy, resources, options);
  return {
    messages: result.violations.filter((v) => !v.exempted).map((v) => v.message),
    exempted: result.violations.filter((v) => v.exempted).map((v) => v.message),
    ...(result.notApplicable === undefined ? {} : { notApplicable: result.notApplicable }),
  };
}

/** The committed `--policy-pack-config` file of a stack. */
export function packConfig(stack: StackName): PackConfig {
  return JSON.parse(
    fs.readFileSync(path.join(repoRoot, "policies", "config", `${stack}.json`), "utf8"),
  ) as PackConfig;
}

const captured = new Map<StackName, Promise<StackResource[]>>();

/** The resources the real program registers for a stack, as policies see them (run once per stack). */
export function stackResources(stack: StackName): Promise<StackResource[]> {
  let run = captured.get(stack);
  if (run === undefined) {
    run = runProgram(stack).then((result) =>
      result.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.inputs as Props,
        protect: r.opts.protect === true,
      })),
    );
    captured.set(stack, run);
  }
  return run;
}

/** A deep copy to mutate into a weakened variant. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

export { evaluateStack };

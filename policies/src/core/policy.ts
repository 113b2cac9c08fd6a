// The shape every policy in this pack takes: CrossGuard's own policy objects (so the pack and the tests call
// the same `validateResource`/`validateStack`), plus the audit metadata, typed config and exemption handling.
import type {
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidation,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { exemptions } from "../../exemptions";
import { dispose, validateExemptions } from "./exemption";
import type { Props } from "./values";

// The reviewed allowlist is checked when the pack loads: a malformed entry stops the pack instead of exempting.
validateExemptions(exemptions);

/** Security rules stay mandatory everywhere; availability rules are advisory on `local`. */
export type Category = "security" | "availability";

export type ControlSource =
  | "PSS baseline"
  | "PSS restricted"
  | "kube-score"
  | "Polaris"
  | "checkov"
  | "CIS GKE"
  | "CIS GCP"
  | "GKE hardening guide"
  | "Project baseline";

/** An external control a policy implements, by the identifier auditors know it by. */
export interface Control {
  readonly source: ControlSource;
  readonly id: string;
}

export type FieldType = "string" | "number" | "boolean" | "stringArray";
type FieldValue<T extends FieldType> = T extends "string"
  ? string
  : T extends "number"
    ? number
    : T extends "boolean"
      ? boolean
      : readonly string[];

export interface ConfigField<T extends FieldType = FieldType> {
  readonly type: T;
  readonly default: FieldValue<T>;
  readonly description: string;
}
export type ConfigFields = Readonly<Record<string, ConfigField>>;
export type ConfigValues<F extends ConfigFields> = { readonly [K in keyof F]: FieldValue<F[K]["type"]> };

/** One resource as a policy sees it (the same shape for resource and stack policies). */
export interface Subject {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Props;
  readonly protect: boolean;
}

interface Metadata<F extends ConfigFields> {
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly category: Category;
  readonly remediationSteps: string;
  readonly controls: readonly Control[];
  /** Resource type tokens the policy inspects (shown in the report); empty for whole-stack checks. */
  readonly appliesTo: readonly string[];
  readonly config?: F;
}

export interface ResourceCheck<F extends ConfigFields> {
  readonly resource: Subject;
  readonly config: ConfigValues<F>;
  readonly report: (message: string) => void;
  readonly notApplicable: (reason: string) => never;
}

export interface StackCheck<F extends ConfigFields> {
  /** Every resource in the stack, in registration order. */
  readonly resources: readonly Subject[];
  readonly config: ConfigValues<F>;
  /** Reports a violation against one resource (or the whole stack when `subject` is omitted). */
  readonly report: (message: string, subject?: Subject) => void;
  readonly notApplicable: (reason: string) => never;
}

/** What the pack, the report and the tests read off every policy besides CrossGuard's own fields. */
export interface PolicyInfo extends Omit<Metadata<ConfigFields>, "config"> {
  readonly configFields: ConfigFields;
  readonly enforcementLevel: "mandatory";
  readonly configSchema?: PolicyConfigSchema;
}

export type PackResourcePolicy = ResourceValidationPolicy &
  PolicyInfo & { readonly kind: "resource"; readonly validateResource: ResourceValidation };
export type PackStackPolicy = StackValidationPolicy & PolicyInfo & { readonly kind: "stack" };
export type PackPolicy = PackResourcePolicy | PackStackPolicy;

/** The object form of a violation that CrossGuard's reportViolation accepts at runtime (server.js, 1.21.0). */
interface ViolationWithLevel {
  readonly message: string;
  readonly enforcementLevel: "advisory";
  readonly urn?: string;
}

/** Builds a resource policy that runs `validate` on resources of the `appliesTo` types only. */
export function resourcePolicy<const F extends ConfigFields = Record<never, ConfigField>>(
  spec: Metadata<F> & { readonly validate: (check: ResourceCheck<F>) => void },
): PackResourcePolicy {
  const fields: ConfigFields = spec.config ?? {};
  const types = new Set(spec.appliesTo);
  const validateResource: ResourceValidation = (args: ResourceValidationArgs, reportViolation) => {
    if (!types.has(args.type)) args.notApplicable(`applies to ${spec.appliesTo.join(", ")} only`);
    const config = readConfig(
      spec.name,
      fields,
      args.getConfig<Record<string, unknown>>(),
    ) as ConfigValues<F>;
    const resource: Subject = {
      type: args.type,
      name: args.name,
      urn: args.urn,
      props: args.props,
      protect: args.opts?.protect === true,
    };
    spec.validate({
      resource,
      config,
      report: (message) => deliver(spec.name, reportViolation, message, resource, false),
      notApplicable: (reason) => args.notApplicable(reason),
    });
  };
  return { ...info(spec, fields), kind: "resource", validateResource };
}

/** Builds a stack policy; it is not applicable when the stack holds none of the `appliesTo` types. */
export function stackPolicy<const F extends ConfigFields = Record<never, ConfigField>>(
  spec: Metadata<F> & { readonly validate: (check: StackCheck<F>) => void },
): PackStackPolicy {
  const fields: ConfigFields = spec.config ?? {};
  const types = new Set(spec.appliesTo);
  const validateStack: StackValidation = (args: StackValidationArgs, reportViolation) => {
    const resources = args.resources.map(subjectOf);
    if (types.size > 0 && !resources.some((r) => types.has(r.type))) {
      args.notApplicable(`the stack has no ${spec.appliesTo.join(", ")}`);
    }
    const config = readConfig(
      spec.name,
      fields,
      args.getConfig<Record<string, unknown>>(),
    ) as ConfigValues<F>;
    spec.validate({
      resources,
      config,
      report: (message, subject) => deliver(spec.name, reportViolation, message, subject, true),
      notApplicable: (reason) => args.notApplicable(reason),
    });
  };
  return { ...info(spec, fields), kind: "stack", validateStack };
}

function subjectOf(resource: PolicyResource): Subject {
  return {
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    props: resource.props,
    protect: resource.opts?.protect === true,
  };
}

function info<F extends ConfigFields>(spec: Metadata<F>, fields: ConfigFields): PolicyInfo {
  const properties: Record<string, PolicyConfigJSONSchema> = {};
  for (const [key, field] of Object.entries(fields)) {
    properties[key] =
      field.type === "stringArray"
        ? { type: "array", items: { type: "string" }, default: [...(field.default as string[])] }
        : { type: field.type, default: field.default as string | number | boolean };
    properties[key].description = field.description;
  }
  return {
    name: spec.name,
    description: spec.description,
    severity: spec.severity,
    category: spec.category,
    remediationSteps: spec.remediationSteps,
    controls: spec.controls,
    appliesTo: spec.appliesTo,
    configFields: fields,
    enforcementLevel: "mandatory",
    ...(Object.keys(properties).length > 0 ? { configSchema: { properties } } : {}),
  };
}

/** Policy config from `--policy-pack-config` over the defaults; a wrong key or type stops with its name. */
export function readConfig(
  policyName: string,
  fields: ConfigFields,
  raw: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (key !== "enforcementLevel" && !(key in fields)) {
      throw new Error(`policy ${policyName}: unknown config key "${key}"`);
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    const value = raw[key];
    if (value === undefined) {
      result[key] = field.default;
    } else if (field.type === "stringArray") {
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        throw new Error(`policy ${policyName}: config "${key}" must be an array of strings`);
      }
      result[key] = value;
    } else if (typeof value !== field.type) {
      throw new Error(`policy ${policyName}: config "${key}" must be a ${field.type}`);
    } else {
      result[key] = value;
    }
  }
  return result;
}

function deliver(
  policyName: string,
  reportViolation: ReportViolation,
  message: string,
  subject: Subject | undefined,
  stack: boolean,
): void {
  const disposition = dispose(policyName, subject, message, exemptions);
  if (disposition.exempted) {
    // Exempted findings are still reported, downgraded to advisory, with the reviewed reason: never silent.
    const violation: ViolationWithLevel = {
      message: disposition.message,
      enforcementLevel: "advisory",
      ...(subject === undefined ? {} : { urn: subject.urn }),
    };
    (reportViolation as unknown as (v: ViolationWithLevel) => void)(violation);
  } else if (stack && subject !== undefined) {
    reportViolation(disposition.message, subject.urn);
  } else {
    reportViolation(disposition.message);
  }
}

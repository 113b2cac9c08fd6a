import { fieldIssues } from "./fields";
import { type ValidationIssue, type ValidationResult, isRecord, toValidationIssue } from "./issues";
import { type ServerJson, serverJsonSchema } from "./server-json";
import { CURRENT_SCHEMA_URL, CURRENT_SCHEMA_VERSION, schemaUrlStatus } from "./versions";

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

function schemaVersionIssues(document: Record<string, unknown>): ValidationIssue[] {
  const url = document.$schema;
  if (url === undefined) {
    return [
      {
        type: "schema",
        path: "$schema",
        message: `$schema is missing; the document was validated as server.json ${CURRENT_SCHEMA_VERSION} (${CURRENT_SCHEMA_URL})`,
        severity: "warning",
        reference: "schema-version-missing",
      },
    ];
  }
  if (typeof url !== "string") return [];
  const status = schemaUrlStatus(url);
  if (status.kind !== "older") return [];
  return [
    {
      type: "schema",
      path: "$schema",
      message: `$schema cites server.json ${status.version}; it was validated as ${CURRENT_SCHEMA_VERSION}, please move to ${CURRENT_SCHEMA_URL}`,
      severity: "warning",
      reference: "schema-version-outdated",
    },
  ];
}

/**
 * Validate a parsed server.json body against the 2025-12-11 schema and every official rule that needs
 * no database. `server` is the normalised document (unknown fields and foreign _meta keys dropped)
 * and is present exactly when `valid` is true. Errors come before warnings.
 */
export function validateServerJson(input: unknown): ValidationResult & { server?: ServerJson } {
  const parsed = serverJsonSchema.safeParse(input);
  const issues: ValidationIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => toValidationIssue(issue, input));
  if (isRecord(input)) issues.push(...schemaVersionIssues(input), ...fieldIssues(input));
  issues.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const valid = parsed.success && !issues.some((issue) => issue.severity === "error");
  return valid ? { valid, issues, server: parsed.data } : { valid, issues };
}

/** The same for a raw body or file: malformed JSON is one "json" issue instead of an exception. */
export function validateServerJsonText(text: string): ValidationResult & { server?: ServerJson } {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      valid: false,
      issues: [
        {
          type: "json",
          path: "",
          message: `server.json is not valid JSON: ${reason}`,
          severity: "error",
          reference: "json-syntax-error",
        },
      ],
    };
  }
  return validateServerJson(input);
}

import { z } from "zod";
import { type ValidationIssue, formatPath, isRecord } from "./issues";
import { OFFICIAL_META_KEY, PUBLISHER_META_KEY, serverJsonSchema } from "./server-json";

/** The shape of the document as far as field names go, read once from the zod schema. */
type FieldModel =
  | { kind: "object"; fields: ReadonlyMap<string, FieldModel> }
  | { kind: "array"; item: FieldModel }
  | { kind: "map"; value: FieldModel }
  | { kind: "union"; discriminator: string; options: ReadonlyMap<unknown, FieldModel> }
  | { kind: "leaf" };

const LEAF: FieldModel = { kind: "leaf" };

function modelOf(schema: z.ZodType): FieldModel {
  if (schema instanceof z.ZodOptional) return modelOf(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodObject) {
    const fields = new Map<string, FieldModel>();
    for (const [name, field] of Object.entries(schema.shape)) fields.set(name, modelOf(field as z.ZodType));
    return { kind: "object", fields };
  }
  if (schema instanceof z.ZodArray) return { kind: "array", item: modelOf(schema.element as z.ZodType) };
  if (schema instanceof z.ZodRecord) return { kind: "map", value: modelOf(schema.valueType as z.ZodType) };
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const discriminator = schema._zod.def.discriminator;
    const options = new Map<unknown, FieldModel>();
    for (const option of schema.options) {
      const tag = (option as z.ZodObject).shape[discriminator];
      if (!(tag instanceof z.ZodLiteral)) throw new Error(`discriminator ${discriminator} must be a literal`);
      const model = modelOf(option as z.ZodType);
      for (const value of tag.values) options.set(value, model);
    }
    return { kind: "union", discriminator, options };
  }
  return LEAF;
}

const documentModel = modelOf(serverJsonSchema);

function issue(
  path: PropertyKey[],
  message: string,
  severity: "error" | "warning",
  reference: string,
  type = "schema",
) {
  const at = formatPath(path);
  return { type, path: at, message: `${at} ${message}`, severity, reference } satisfies ValidationIssue;
}

function forbiddenKey(path: PropertyKey[]): ValidationIssue {
  return issue(path, "is not an allowed field name", "error", "forbidden-field-name", "semantic");
}

/**
 * Fields the schema does not know are dropped from the stored document and reported as warnings;
 * a few are refused outright: the registry's own _meta key, a url on a stdio transport, and `__proto__`.
 */
export function fieldIssues(document: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isRecord(document)) return issues;
  const { _meta: meta, ...rest } = document;
  walk(rest, documentModel, [], issues);
  if (isRecord(meta)) checkMeta(meta, issues);
  return issues;
}

function checkMeta(meta: Record<string, unknown>, issues: ValidationIssue[]): void {
  for (const key of Object.keys(meta)) {
    const path = ["_meta", key];
    if (key === PUBLISHER_META_KEY) {
      const provided = meta[key];
      if (isRecord(provided) && Object.hasOwn(provided, "__proto__"))
        issues.push(forbiddenKey([...path, "__proto__"]));
    } else if (key === OFFICIAL_META_KEY) {
      issues.push(
        issue(
          path,
          "is written by the registry and cannot be published",
          "error",
          "registry-meta-reserved",
          "semantic",
        ),
      );
    } else {
      issues.push(
        issue(
          path,
          `was dropped: only _meta["${PUBLISHER_META_KEY}"] is kept`,
          "warning",
          "meta-key-dropped",
          "semantic",
        ),
      );
    }
  }
}

/** Depth-first over the input; `path` is one shared stack, copied only when an issue is reported. */
function walk(node: unknown, model: FieldModel, path: PropertyKey[], issues: ValidationIssue[]): void {
  switch (model.kind) {
    case "leaf":
      return;
    case "array":
      if (!Array.isArray(node)) return;
      for (let index = 0; index < node.length; index++) {
        path.push(index);
        walk(node[index], model.item, path, issues);
        path.pop();
      }
      return;
    case "map":
      if (!isRecord(node)) return;
      for (const key of Object.keys(node)) {
        path.push(key);
        if (key === "__proto__") issues.push(forbiddenKey([...path]));
        else walk(node[key], model.value, path, issues);
        path.pop();
      }
      return;
    case "union": {
      const option = isRecord(node) ? model.options.get(node[model.discriminator]) : undefined;
      if (option !== undefined) walk(node, option, path, issues);
      return;
    }
    case "object":
      if (!isRecord(node)) return;
      for (const key of Object.keys(node)) {
        path.push(key);
        const field = model.fields.get(key);
        if (field !== undefined) walk(node[key], field, path, issues);
        else issues.push(unknownField(node, key, [...path]));
        path.pop();
      }
      return;
  }
}

function unknownField(owner: Record<string, unknown>, key: string, path: PropertyKey[]): ValidationIssue {
  if (key === "__proto__") return forbiddenKey(path);
  if (key === "url" && owner.type === "stdio") {
    return issue(
      path,
      "must not be set on a stdio transport",
      "error",
      "stdio-transport-url-not-empty",
      "semantic",
    );
  }
  return issue(path, "is not a server.json field and was dropped", "warning", "unknown-field");
}

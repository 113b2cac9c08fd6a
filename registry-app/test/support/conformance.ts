import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse } from "yaml";

/** ../shared/conformance next to the repository, present in CI; tests skip visibly without it. */
export const CONFORMANCE_DIR = path.resolve(__dirname, "../../../../shared/conformance");
export const DATASET = path.resolve(__dirname, "../../../../shared/datasets/servers-2025-05.json");

export const conformanceAvailable = fs.existsSync(path.join(CONFORMANCE_DIR, "openapi.yaml"));

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

type OpenApi = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

let cache: { doc: OpenApi; ajv: Ajv2020; serverJson: ValidateFunction } | undefined;

function load(): NonNullable<typeof cache> {
  if (cache) return cache;
  const doc = parse(fs.readFileSync(path.join(CONFORMANCE_DIR, "openapi.yaml"), "utf8")) as OpenApi;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const { $id: _id, ...rest } = doc;
  ajv.addSchema(rest, "openapi");
  const draft7 = new Ajv({ strict: false, allErrors: true });
  addFormats(draft7);
  const serverSchema = JSON.parse(
    fs.readFileSync(path.join(CONFORMANCE_DIR, "server.schema.json"), "utf8"),
  ) as object;
  cache = { doc, ajv, serverJson: draft7.compile(serverSchema) };
  return cache;
}

/** `/v0/servers/x%2Fy/versions/1.0.0?a=b` -> the spec's `/v0.1/servers/{serverName}/versions/{version}`. */
function specPath(doc: OpenApi, url: string): string | undefined {
  const pathname = url.split("?")[0]?.replace(/^\/v0(?=\/)/, "/v0.1") ?? "";
  return Object.keys(doc.paths).find((template) => {
    const pattern = new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`);
    return pattern.test(pathname);
  });
}

/**
 * Asserts that a JSON response body matches the response schema openapi.yaml gives for this path,
 * method and status. Returns false (nothing checked) when the spec has no such response.
 */
export function assertConformsToSpec(method: string, url: string, status: number, body: unknown): boolean {
  if (!conformanceAvailable) return false;
  const { doc, ajv } = load();
  const template = specPath(doc, url);
  if (template === undefined) return false;
  const response = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)];
  if (response?.content?.["application/json"]?.schema === undefined) return false;
  const pointer = `openapi#/paths/${template.replace(/~/g, "~0").replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
  const validate = ajv.getSchema(pointer);
  assert.ok(validate, `no schema at ${pointer}`);
  const ok = validate(body);
  assert.ok(ok, `${method} ${url} ${status} does not match openapi.yaml: ${ajv.errorsText(validate.errors)}`);
  return true;
}

/** Asserts a document is valid against server.schema.json (2025-12-11). */
export function assertValidServerJson(document: unknown): void {
  if (!conformanceAvailable) return;
  const { serverJson } = load();
  assert.ok(
    serverJson(document),
    `server.schema.json rejects the document: ${JSON.stringify(serverJson.errors)}`,
  );
}

/** Every path of openapi.yaml with its methods, for the route-coverage test. */
export function specOperations(): Array<{ path: string; method: string }> {
  const { doc } = load();
  return Object.entries(doc.paths).flatMap(([template, operations]) =>
    Object.keys(operations)
      .filter((method) => ["get", "put", "post", "patch", "delete"].includes(method))
      .map((method) => ({ path: template, method })),
  );
}

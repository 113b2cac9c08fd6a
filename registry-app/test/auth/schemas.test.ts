import assert from "node:assert/strict";
import { z } from "zod";
import { authSchemas } from "../../src/auth";

describe("auth: schemas for the OpenAPI document", () => {
  it("describe every login body and the token response as JSON Schema", () => {
    const required = (schema: z.ZodType) =>
      (z.toJSONSchema(schema, { io: "input" }) as { required?: string[] }).required ?? [];
    assert.deepEqual(required(authSchemas.requests["github-at"]), ["github_token"]);
    assert.deepEqual(required(authSchemas.requests["github-oidc"]), ["oidc_token"]);
    assert.deepEqual(required(authSchemas.requests.oidc), ["oidc_token"]);
    assert.deepEqual(required(authSchemas.requests.dns).sort(), ["domain", "signed_timestamp", "timestamp"]);
    assert.deepEqual(required(authSchemas.requests.http), required(authSchemas.requests.dns));
    assert.deepEqual(required(authSchemas.requests.none), []);
    assert.deepEqual(required(authSchemas.tokenResponse).sort(), ["expires_at", "registry_token"]);
  });
});

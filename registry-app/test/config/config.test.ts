import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { generateSigningKeyHex } from "../../src/auth";
import { ConfigError, knownVariables, loadConfig, unknownVariables } from "../../src/config";

const key = generateSigningKeyHex();
const external = {
  MCP_REGISTRY_DATABASE_URL: "postgres://u:p@db:5432/registry",
  MCP_REGISTRY_JWT_PRIVATE_KEY: key,
};

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("config: MCP_REGISTRY_* environment", () => {
  it("applies the official defaults", () => {
    const config = loadConfig(external);
    assert.deepEqual(config.MCP_REGISTRY_SERVER_ADDRESS, { host: "0.0.0.0", port: 8080 });
    assert.equal(config.MCP_REGISTRY_DATABASE_POOL_SIZE, 10);
    assert.equal(config.MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS, 20);
    assert.equal(config.MCP_REGISTRY_BODY_LIMIT_BYTES, 1_048_576);
    assert.equal(config.MCP_REGISTRY_MIGRATE_ON_START, true);
    assert.equal(config.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH, false);
    assert.equal(config.MCP_REGISTRY_TRUST_PROXY, false);
  });

  it("parses listen addresses, trust-proxy forms and flags", () => {
    const parse = (env: Record<string, string>) => loadConfig({ ...external, ...env });
    assert.deepEqual(parse({ MCP_REGISTRY_SERVER_ADDRESS: "127.0.0.1:9000" }).MCP_REGISTRY_SERVER_ADDRESS, {
      host: "127.0.0.1",
      port: 9000,
    });
    assert.deepEqual(parse({ MCP_REGISTRY_SERVER_ADDRESS: "[::1]:8081" }).MCP_REGISTRY_SERVER_ADDRESS, {
      host: "::1",
      port: 8081,
    });
    assert.equal(parse({ MCP_REGISTRY_TRUST_PROXY: "2" }).MCP_REGISTRY_TRUST_PROXY, 2);
    assert.deepEqual(
      parse({ MCP_REGISTRY_TRUST_PROXY: "10.0.0.0/8, 192.168.1.1" }).MCP_REGISTRY_TRUST_PROXY,
      ["10.0.0.0/8", "192.168.1.1"],
    );
    assert.equal(parse({ MCP_REGISTRY_MIGRATE_ON_START: "false" }).MCP_REGISTRY_MIGRATE_ON_START, false);
  });

  it("runs embedded without a database URL: a generated key and anonymous publishing unless set", () => {
    const embedded = loadConfig({});
    assert.equal(embedded.MCP_REGISTRY_DATABASE_URL, undefined);
    assert.equal(embedded.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH, true);
    assert.equal(embedded.MCP_REGISTRY_JWT_PRIVATE_KEY.asymmetricKeyType, "ed25519");
    assert.equal(
      loadConfig({ MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "false" }).MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH,
      false,
    );
  });

  it("needs a signing key when a database is configured", () => {
    assert.deepEqual(
      problems({ MCP_REGISTRY_DATABASE_URL: external.MCP_REGISTRY_DATABASE_URL }).map(
        (line) => line.split(":")[0],
      ),
      ["MCP_REGISTRY_JWT_PRIVATE_KEY"],
    );
  });

  it("reports every bad variable on its own line, naming the expected form", () => {
    const lines = problems({
      ...external,
      MCP_REGISTRY_SERVER_ADDRESS: "localhost",
      MCP_REGISTRY_BODY_LIMIT_BYTES: "12",
      MCP_REGISTRY_TRUST_PROXY: "maybe",
      MCP_REGISTRY_LOG_LEVEL: "loud",
      OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
      MCP_REGISTRY_SYNC_FROM: "ftp://upstream",
    });
    assert.deepEqual(
      lines.map((line) => line.split(":")[0]),
      [
        "MCP_REGISTRY_SERVER_ADDRESS",
        "MCP_REGISTRY_SYNC_FROM",
        "MCP_REGISTRY_BODY_LIMIT_BYTES",
        "MCP_REGISTRY_LOG_LEVEL",
        "MCP_REGISTRY_TRUST_PROXY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
      ],
    );
    assert.match(
      lines.find((line) => line.startsWith("MCP_REGISTRY_BODY_LIMIT_BYTES")) ?? "",
      /integer from 1024/,
    );
  });

  it("warns about unknown MCP_REGISTRY_* variables, not the ones the Deployment uses for expansion", () => {
    assert.deepEqual(
      unknownVariables({
        ...external,
        MCP_REGISTRY_DATABSE_URL: "typo",
        MCP_REGISTRY_DATABASE_USER: "app",
        MCP_REGISTRY_DATABASE_PASSWORD: "x",
        HOME: "/tmp",
      }),
      ["MCP_REGISTRY_DATABSE_URL"],
    );
  });

  it("documents every variable in registry-app/README.md", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    for (const variable of knownVariables) {
      assert.ok(readme.includes(`\`${variable}\``), `${variable} is missing from the README's table`);
    }
  });
});

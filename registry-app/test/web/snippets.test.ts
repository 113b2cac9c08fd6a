// Install snippets of the catalogue's detail page (web/snippets.ts), for each registry type and transport.
import assert from "node:assert/strict";
import { packageGuide, remoteGuide, shellQuote } from "../../web/snippets";
import type { RemoteTransport, ServerPackage } from "../../web/types";

const code = (pkg: ServerPackage, label?: string) => {
  const guide = packageGuide("com.example/weather", pkg);
  const snippet =
    label === undefined ? guide.snippets[0] : guide.snippets.find((s) => s.label.startsWith(label));
  assert.ok(snippet, `no ${label} snippet in ${JSON.stringify(guide.snippets)}`);
  return snippet.code;
};

describe("web: install snippets", () => {
  it("npm: npx -y with the pinned version, required secrets exported first, arguments after the package", () => {
    const pkg: ServerPackage = {
      registryType: "npm",
      identifier: "@example/mcp-weather",
      version: "1.1.0",
      transport: { type: "stdio" },
      environmentVariables: [
        { name: "WEATHER_API_KEY", description: "API key", isRequired: true, isSecret: true },
        { name: "UNITS", description: "metric or imperial", default: "metric" },
      ],
      packageArguments: [
        { type: "positional", valueHint: "allowed_directory", isRequired: true },
        { type: "named", name: "--port", value: "8080" },
      ],
    };
    assert.equal(
      code(pkg),
      [
        "export WEATHER_API_KEY='<WEATHER_API_KEY>'  # required, secret",
        "export UNITS=metric  # optional",
        "npx -y @example/mcp-weather@1.1.0 '<allowed_directory>' --port=8080",
      ].join("\n"),
    );
    const config = JSON.parse(code(pkg, "MCP client configuration")) as {
      mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }>;
    };
    assert.deepEqual(config.mcpServers.weather, {
      command: "npx",
      args: ["-y", "@example/mcp-weather@1.1.0", "<allowed_directory>", "--port=8080"],
      env: { WEATHER_API_KEY: "<WEATHER_API_KEY>", UNITS: "metric" },
    });
    const inputs = packageGuide("com.example/weather", pkg).inputs;
    assert.deepEqual(
      inputs.map((i) => [i.kind, i.name, i.required, i.secret]),
      [
        ["environment variable", "WEATHER_API_KEY", true, true],
        ["environment variable", "UNITS", false, false],
        ["argument", "allowed_directory", true, false],
        ["argument", "--port", false, false],
      ],
    );
  });

  it("pypi: uvx with ==version; nuget: dnx with @version --yes", () => {
    assert.equal(
      code({
        registryType: "pypi",
        identifier: "mcp-calendar",
        version: "0.3.0b2",
        transport: { type: "stdio" },
      }),
      "uvx mcp-calendar==0.3.0b2",
    );
    assert.equal(
      code({
        registryType: "nuget",
        identifier: "Example.Mcp",
        version: "2.0.1",
        transport: { type: "stdio" },
      }),
      "dnx Example.Mcp@2.0.1 --yes",
    );
  });

  it("oci: docker run -i --rm passing variables through, the port of a local HTTP transport published", () => {
    assert.equal(
      code({
        registryType: "oci",
        identifier: "docker.io/example/postgres-explorer",
        version: "2.3.1",
        transport: { type: "stdio" },
        environmentVariables: [{ name: "DATABASE_URL", isRequired: true, isSecret: true }],
      }),
      "export DATABASE_URL='<DATABASE_URL>'  # required, secret\n" +
        "docker run -i --rm -e DATABASE_URL docker.io/example/postgres-explorer:2.3.1",
    );
    const http: ServerPackage = {
      registryType: "oci",
      identifier: "ghcr.io/example/server:1.0",
      transport: { type: "streamable-http", url: "http://localhost:8931/mcp" },
      runtimeArguments: [{ type: "named", name: "--network", value: "host" }],
    };
    assert.equal(code(http), "docker run -i --rm -p 8931:8931 --network=host ghcr.io/example/server:1.0");
    assert.deepEqual(JSON.parse(code(http, "MCP client configuration")), {
      mcpServers: { weather: { type: "streamable-http", url: "http://localhost:8931/mcp" } },
    });
  });

  it("mcpb: a download checked against its SHA-256", () => {
    const sha = "a".repeat(64);
    assert.equal(
      code({
        registryType: "mcpb",
        identifier: "https://github.com/example/releases/download/v1/server.mcpb",
        fileSha256: sha,
        transport: { type: "stdio" },
      }),
      `curl -fLo server.mcpb https://github.com/example/releases/download/v1/server.mcpb\necho '${sha}  server.mcpb' | sha256sum -c -`,
    );
  });

  it("remotes: the client configuration with every header, required and secret ones marked", () => {
    const remote: RemoteTransport = {
      type: "streamable-http",
      url: "https://mcp.example.com/issues",
      headers: [{ name: "Authorization", description: "Bearer token", isRequired: true, isSecret: true }],
    };
    const guide = remoteGuide("com.example/issue-tracker", remote);
    assert.deepEqual(JSON.parse(guide.snippets[0]?.code ?? ""), {
      mcpServers: {
        "issue-tracker": {
          type: "streamable-http",
          url: "https://mcp.example.com/issues",
          headers: { Authorization: "<Authorization>" },
        },
      },
    });
    assert.deepEqual(guide.inputs, [
      { kind: "header", name: "Authorization", description: "Bearer token", required: true, secret: true },
    ]);
  });

  it("quotes shell words only when needed, single quotes escaped", () => {
    assert.equal(shellQuote("@scope/pkg@1.0.0"), "@scope/pkg@1.0.0");
    assert.equal(shellQuote("two words"), "'two words'");
    assert.equal(shellQuote("it's; rm -rf ~"), `'it'"'"'s; rm -rf ~'`);
    assert.equal(shellQuote("$HOME"), "'$HOME'");
  });
});

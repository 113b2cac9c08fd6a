import { CURRENT_SCHEMA_URL, PUBLISHER_META_KEY } from "../schema";

/**
 * The small catalogue `npm start` seeds into a fresh embedded database, written for this project
 * (example.com names, nothing real), so the API has something to list, search and version.
 */
function npmPackage(
  identifier: string,
  version: string,
  env: Array<{ name: string; description: string; secret?: boolean }> = [],
) {
  return {
    registryType: "npm",
    registryBaseUrl: "https://registry.npmjs.org",
    identifier,
    version,
    runtimeHint: "npx",
    transport: { type: "stdio" },
    ...(env.length > 0 && {
      environmentVariables: env.map((variable) => ({
        name: variable.name,
        description: variable.description,
        isRequired: true,
        ...(variable.secret && { isSecret: true }),
      })),
    }),
  };
}

const repository = (slug: string) => ({ url: `https://github.com/example/${slug}`, source: "github" });

/** Categories and tags as a publisher declares them, so the demo has something to filter and count. */
const classified = (categories: string[], tags: string[]) => ({
  _meta: { [PUBLISHER_META_KEY]: { categories, tags } },
});

export const DEMO_CATALOGUE: readonly Record<string, unknown>[] = [
  ...["0.9.0", "1.0.0", "1.1.0"].map((version) => ({
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/weather",
    ...classified(["location"], ["weather", "forecasts"]),
    title: "Weather",
    description: "Current conditions and seven-day forecasts for any city.",
    version,
    repository: repository("mcp-weather"),
    packages: [
      npmPackage("@example/mcp-weather", version, [
        { name: "WEATHER_API_KEY", description: "API key of the forecast service", secret: true },
      ]),
    ],
  })),
  {
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/postgres-explorer",
    ...classified(["databases", "developer-tools"], ["postgresql", "sql", "read-only"]),
    title: "Postgres Explorer",
    description: "Read-only SQL queries and schema browsing for PostgreSQL databases.",
    version: "2.3.1",
    repository: repository("postgres-explorer"),
    packages: [
      {
        registryType: "oci",
        identifier: "docker.io/example/postgres-explorer",
        version: "2.3.1",
        runtimeHint: "docker",
        transport: { type: "stdio" },
        environmentVariables: [
          {
            name: "DATABASE_URL",
            description: "postgres:// connection string",
            isRequired: true,
            isSecret: true,
          },
        ],
      },
    ],
  },
  {
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/filesystem",
    ...classified(["file-systems"], ["files", "local"]),
    title: "Filesystem",
    description: "Read, write and search files inside directories you allow.",
    version: "1.4.0",
    repository: repository("mcp-filesystem"),
    packages: [
      {
        ...npmPackage("@example/mcp-filesystem", "1.4.0"),
        packageArguments: [
          {
            type: "positional",
            valueHint: "allowed_directory",
            description: "Directory the server may access",
            isRepeated: true,
          },
        ],
      },
    ],
  },
  {
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/issue-tracker",
    ...classified(["productivity", "developer-tools"], ["issues", "hosted"]),
    title: "Issue Tracker",
    description: "Search, create and triage issues in the team's tracker over a hosted endpoint.",
    version: "2025.11.0",
    remotes: [
      {
        type: "streamable-http",
        url: "https://mcp.example.com/issues",
        headers: [
          {
            name: "Authorization",
            description: "Bearer token of your tracker account",
            isRequired: true,
            isSecret: true,
          },
        ],
      },
    ],
  },
  {
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/calendar",
    ...classified(["productivity"], ["calendar", "meetings"]),
    title: "Calendar",
    description: "Find free slots, list events and schedule meetings across calendars.",
    version: "0.3.0-beta.2",
    repository: repository("mcp-calendar"),
    packages: [
      {
        registryType: "pypi",
        registryBaseUrl: "https://pypi.org",
        identifier: "example-mcp-calendar",
        version: "0.3.0b2",
        runtimeHint: "uvx",
        transport: { type: "stdio" },
      },
    ],
  },
  {
    $schema: CURRENT_SCHEMA_URL,
    name: "com.example/docs-search",
    ...classified(["search", "knowledge"], ["documentation", "semantic-search"]),
    title: "Docs Search",
    description: "Semantic search over internal documentation with cited answers.",
    version: "1.0.0",
    remotes: [{ type: "sse", url: "https://mcp.example.com/docs/sse" }],
  },
];

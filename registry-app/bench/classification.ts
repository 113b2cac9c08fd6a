import { PUBLISHER_META_KEY } from "../src/schema";

/**
 * Categories and tags for the bench's documents, derived from their descriptions and names by keyword,
 * as a publisher would declare them: `_meta["io.modelcontextprotocol.registry/publisher-provided"]`.
 * The real dataset declares none, and faceted reads need realistic, uneven distributions.
 */

/** Category id of the default taxonomy -> words that put a server in it. */
const CATEGORY_WORDS: Record<string, readonly string[]> = {
  "ai-ml": ["llm", "llms", "genai", "ai", "reasoning", "inference", "embedding", "deepseek", "openai", "ml"],
  automation: ["workflow", "workflows", "automation", "automate", "zapier", "pipedream", "dify", "make"],
  browser: ["browser", "scraping", "scrape", "crawl", "firecrawl", "playwright", "puppeteer", "web"],
  "cloud-platforms": ["aws", "azure", "google", "cloud", "alibabacloud", "heroku", "cloudflare", "gcp"],
  communication: [
    "slack",
    "discord",
    "email",
    "gmail",
    "chat",
    "messages",
    "ntfy",
    "phone",
    "mailgun",
    "lark",
  ],
  "data-analytics": ["analytics", "bigquery", "dataset", "datasets", "data", "databricks", "keboola", "dune"],
  databases: [
    "database",
    "databases",
    "sql",
    "mysql",
    "postgres",
    "postgresql",
    "mongodb",
    "redis",
    "neo4j",
    "qdrant",
    "pinecone",
    "milvus",
    "chroma",
    "mssql",
    "iotdb",
    "couchbase",
    "clickhouse",
  ],
  "design-media": ["figma", "image", "video", "audio", "media", "cloudinary", "design", "cms", "ableton"],
  "developer-tools": ["code", "github", "gitlab", "git", "ide", "cli", "openapi", "sdk", "coding", "cursor"],
  "e-commerce": ["shop", "shopify", "store", "marketplace", "commerce", "market"],
  "file-systems": ["file", "files", "filesystem", "storage", "box", "drive", "excel", "documents"],
  finance: [
    "crypto",
    "cryptocurrency",
    "stripe",
    "bank",
    "payments",
    "blockchain",
    "solana",
    "stock",
    "xero",
  ],
  infrastructure: ["kubernetes", "docker", "devops", "terraform", "clusters", "cluster", "consul", "proxy"],
  knowledge: ["rag", "knowledge", "memory", "notes", "obsidian", "wiki", "docs", "documentation", "anki"],
  location: ["maps", "map", "weather", "travel", "location", "amadeus", "geocoding"],
  observability: ["observability", "monitor", "monitoring", "logs", "datadog", "grafana", "tracing", "axiom"],
  productivity: ["calendar", "task", "tasks", "project", "linear", "airtable", "clickup", "sheets", "notion"],
  "sales-marketing": ["salesforce", "crm", "marketing", "audience", "insights", "hubspot", "ads"],
  search: ["search", "bing", "tavily", "exa", "meilisearch", "elasticsearch", "index", "discover"],
  security: ["security", "secure", "snyk", "vulnerability", "auth", "token", "secrets", "codacy"],
  "science-education": ["research", "academic", "edubase", "dblp", "science", "learning", "dicom", "chess"],
  "iot-hardware": ["arduino", "aranet4", "device", "devices", "iot", "home", "sensor", "unity"],
};

/** Words that become tags when they occur (after the publisher-style spelling on the right). */
const TAG_WORDS: Record<string, string> = {
  api: "api",
  apis: "api",
  llm: "llm",
  llms: "llm",
  rag: "rag",
  python: "python",
  typescript: "typescript",
  node: "nodejs",
  aws: "aws",
  azure: "azure",
  google: "google",
  github: "github",
  kubernetes: "kubernetes",
  docker: "docker",
  redis: "redis",
  mongodb: "mongodb",
  mysql: "mysql",
  postgres: "postgresql",
  sql: "sql",
  vector: "vector-search",
  pinecone: "vector-search",
  qdrant: "vector-search",
  milvus: "vector-search",
  chroma: "vector-search",
  crypto: "crypto",
  cryptocurrency: "crypto",
  blockchain: "blockchain",
  search: "search",
  browser: "browser",
  scraping: "web-scraping",
  claude: "claude",
  cursor: "cursor",
  agents: "agents",
  agent: "agents",
  agentic: "agents",
  openapi: "openapi",
  analytics: "analytics",
  memory: "memory",
  email: "email",
  slack: "slack",
  calendar: "calendar",
  video: "video",
  image: "images",
  security: "security",
  official: "official",
  enterprise: "enterprise",
  cli: "cli",
  graph: "graph",
  neo4j: "graph",
  observability: "observability",
  monitoring: "observability",
  stdio: "stdio",
  remote: "remote",
  free: "free-tier",
  open: "open-source",
  ide: "ide",
};

/** A few tags spread over the catalogue whatever the description says: team and lifecycle labels. */
const SPREAD_TAGS = [
  "team-platform",
  "team-data",
  "team-apps",
  "internal",
  "approved",
  "beta",
  "pci",
  "gdpr",
];

/** FNV-1a of a string: a stable per-name choice. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) value = Math.imul(value ^ text.charCodeAt(i), 0x01000193);
  return value >>> 0;
}

/** Categories (at least one, at most three) and tags (at least two, at most ten) of a document. */
export function classify(name: string, description: string): { categories: string[]; tags: string[] } {
  const words = new Set(`${description} ${name.split("/")[1] ?? ""}`.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  const categories = Object.entries(CATEGORY_WORDS)
    .map(([id, keywords]) => ({ id, hits: keywords.filter((word) => words.has(word)).length }))
    .filter((entry) => entry.hits > 0)
    .sort((a, b) => b.hits - a.hits || a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((entry) => entry.id);
  const ids = Object.keys(CATEGORY_WORDS);
  const h = hash(name.replace(/-c\d+$/, ""));
  if (categories.length === 0) categories.push(ids[h % ids.length] as string);
  const tags = new Set<string>();
  for (const word of words) {
    const tag = TAG_WORDS[word];
    if (tag !== undefined) tags.add(tag);
  }
  tags.add(SPREAD_TAGS[h % SPREAD_TAGS.length] as string);
  tags.add(SPREAD_TAGS[(h >>> 8) % SPREAD_TAGS.length] as string);
  if (tags.size < 2) tags.add("general");
  return { categories, tags: [...tags].sort().slice(0, 10) };
}

/** The document with its classification declared under the publisher-provided _meta key. */
export function withClassification(document: Record<string, unknown>): Record<string, unknown> {
  const { categories, tags } = classify(String(document.name ?? ""), String(document.description ?? ""));
  const meta = (document._meta ?? {}) as Record<string, unknown>;
  const provided = (meta[PUBLISHER_META_KEY] ?? {}) as Record<string, unknown>;
  return { ...document, _meta: { ...meta, [PUBLISHER_META_KEY]: { ...provided, categories, tags } } };
}

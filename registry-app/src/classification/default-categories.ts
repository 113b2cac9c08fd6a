import type { Category } from "./taxonomy";

/**
 * The built-in taxonomy, used unless MCP_REGISTRY_CATEGORIES_FILE names another. Broad enough that
 * most MCP servers fit one or two categories, narrow enough that each narrows a catalogue down.
 */
export const DEFAULT_CATEGORIES: readonly Category[] = [
  {
    id: "ai-ml",
    title: "AI and machine learning",
    description: "Models, inference, embeddings, evaluation and machine-learning platforms.",
  },
  {
    id: "automation",
    title: "Automation and workflows",
    description: "Workflow engines, integration platforms, schedulers and robotic process automation.",
  },
  {
    id: "browser",
    title: "Browser automation",
    description: "Driving real or headless browsers, scraping and reading web pages.",
  },
  {
    id: "cloud-platforms",
    title: "Cloud platforms",
    description: "Public and private cloud providers and their management APIs.",
  },
  {
    id: "communication",
    title: "Communication",
    description: "Chat, email, messaging, notifications, telephony and meetings.",
  },
  {
    id: "data-analytics",
    title: "Data and analytics",
    description: "Data warehouses, business intelligence, datasets and analysis.",
  },
  {
    id: "databases",
    title: "Databases",
    description: "Relational, document, key-value, graph, time-series and vector databases.",
  },
  {
    id: "design-media",
    title: "Design and media",
    description: "Images, video, audio, design tools and content management.",
  },
  {
    id: "developer-tools",
    title: "Developer tools",
    description: "Source control, code analysis, CI/CD, IDEs, API tooling and testing.",
  },
  {
    id: "e-commerce",
    title: "E-commerce",
    description: "Shops, marketplaces, product catalogues and orders.",
  },
  {
    id: "file-systems",
    title: "Files and storage",
    description: "Local files, object storage, document stores and file sharing.",
  },
  {
    id: "finance",
    title: "Finance",
    description: "Payments, accounting, banking, markets and crypto assets.",
  },
  {
    id: "infrastructure",
    title: "Infrastructure and operations",
    description: "Containers, Kubernetes, infrastructure as code, networks and servers.",
  },
  {
    id: "knowledge",
    title: "Knowledge and memory",
    description: "Knowledge bases, wikis, notes, documentation, retrieval and agent memory.",
  },
  {
    id: "location",
    title: "Maps and location",
    description: "Maps, geocoding, routing, travel and weather.",
  },
  {
    id: "observability",
    title: "Observability",
    description: "Logs, metrics, traces, monitoring, alerting and incident response.",
  },
  {
    id: "productivity",
    title: "Productivity",
    description: "Tasks, projects, calendars, spreadsheets and office suites.",
  },
  {
    id: "sales-marketing",
    title: "Sales and marketing",
    description: "CRM, marketing automation, advertising, analytics of audiences and support desks.",
  },
  {
    id: "search",
    title: "Search",
    description: "Web search, enterprise search and search engines.",
  },
  {
    id: "security",
    title: "Security",
    description: "Vulnerability scanning, identity, secrets, compliance and threat intelligence.",
  },
  {
    id: "science-education",
    title: "Science and education",
    description: "Research literature, scientific data, learning platforms and academic tools.",
  },
  {
    id: "iot-hardware",
    title: "IoT and hardware",
    description: "Devices, sensors, home automation and embedded hardware.",
  },
];

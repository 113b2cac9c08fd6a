// Publish help: how to log in and publish with mcp-publisher against this registry, for the login methods
// its running configuration enables.
import { codeBlock } from "./components";
import { h } from "./dom";
import type { CatalogueSettings } from "./types";

interface LoginHelp {
  method: string;
  title: string;
  namespace: string;
  text: string;
  code: string;
}

const KEY_RECORD = "v=MCPv1; k=ed25519; p=<base64 public key>";

/** What one login method needs, by the path of its route; `flag` is `--registry <this registry>`. */
const LOGIN_HELP: Record<string, (flag: string, settings: CatalogueSettings) => Omit<LoginHelp, "method">> = {
  "github-at": (flag, settings) => ({
    title: "GitHub",
    namespace: "io.github.<your user or organisation>/*",
    text:
      settings.githubClientId !== ""
        ? "Opens GitHub's device login in your browser."
        : "This registry has no GitHub OAuth app, so pass a GitHub token of your own.",
    code:
      settings.githubClientId !== ""
        ? `mcp-publisher login github ${flag}`
        : `mcp-publisher login github --token "$GITHUB_TOKEN" ${flag}`,
  }),
  "github-oidc": (flag) => ({
    title: "GitHub Actions (OIDC)",
    namespace: "io.github.<repository owner>/*",
    text: "Inside a workflow job with the permission id-token: write; no secret needed.",
    code: `mcp-publisher login github-oidc ${flag}`,
  }),
  dns: (flag) => ({
    title: "DNS",
    namespace: "com.example/* and com.example.*/* for example.com",
    text: `Publish the TXT record "${KEY_RECORD}" on the domain, then sign with its private key.`,
    code: `mcp-publisher login dns --domain example.com --private-key "$PRIVATE_KEY_HEX" ${flag}`,
  }),
  http: (flag) => ({
    title: "HTTPS",
    namespace: "com.example/* for example.com",
    text: `Serve "${KEY_RECORD}" at https://example.com/.well-known/mcp-registry-auth, then sign with its private key.`,
    code: `mcp-publisher login http --domain example.com --private-key "$PRIVATE_KEY_HEX" ${flag}`,
  }),
  none: (flag) => ({
    title: "Anonymous (development)",
    namespace: "io.modelcontextprotocol.anonymous/*",
    text: "Enabled on this registry for trying things out; names outside the anonymous namespace are refused.",
    code: `mcp-publisher login none ${flag}`,
  }),
  oidc: (flag) => {
    const registry = flag.slice("--registry ".length);
    return {
      title: "Your organisation's sign-in (OIDC)",
      namespace: "the patterns the registry grants OIDC users",
      text: "Exchange an ID token of the organisation's identity provider for a registry token, then publish with it.",
      code: [
        `curl -s -X POST ${registry}/v0.1/auth/oidc -H 'content-type: application/json' \\`,
        `  -d "{\\"oidc_token\\": \\"$ID_TOKEN\\"}"   # answers {"registry_token": ...}`,
        `curl -s -X POST ${registry}/v0.1/publish -H "Authorization: Bearer $REGISTRY_TOKEN" \\`,
        `  -H 'content-type: application/json' --data @server.json`,
      ].join("\n"),
    };
  },
};

function loginHelp(settings: CatalogueSettings, registry: string): LoginHelp[] {
  return settings.loginMethods.flatMap((method) => {
    const help = LOGIN_HELP[method];
    return help === undefined ? [] : [{ method, ...help(`--registry ${registry}`, settings) }];
  });
}

export function renderPublish(settings: CatalogueSettings, registry: string): HTMLElement[] {
  const methods = loginHelp(settings, registry);
  return [
    h(
      "section",
      "hero hero-compact",
      h("h1", null, "Publish to this registry"),
      h(
        "p",
        "lead",
        "Use the official ",
        h("code", null, "mcp-publisher"),
        " CLI of the MCP registry project; this registry speaks the same API.",
      ),
    ),
    h(
      "ol",
      "steps",
      h(
        "li",
        "step",
        h("h2", null, "Describe your server"),
        h(
          "p",
          null,
          "In your server's repository, write a ",
          h("code", null, "server.json"),
          " (name, description, version, packages or remotes):",
        ),
        codeBlock("init", "mcp-publisher init", "shell"),
      ),
      h(
        "li",
        "step",
        h("h2", null, "Log in to ", h("code", null, registry)),
        methods.length === 0
          ? h("p", null, "This registry enables no login method; ask its operators for access.")
          : [
              h(
                "p",
                null,
                `This registry accepts ${methods.length === 1 ? "one login method" : `${methods.length} login methods`}. Your server's name must be in the namespace the method grants.`,
              ),
              h(
                "div",
                "guides",
                methods.map((help) =>
                  h(
                    "article",
                    { class: "card guide", attrs: { "data-method": help.method } },
                    h("h3", "guide-title", help.title),
                    h("p", null, help.text),
                    h("p", "muted", "Namespace: ", h("code", null, help.namespace)),
                    codeBlock(`login ${help.method}`, help.code, "shell"),
                  ),
                ),
              ),
            ],
      ),
      h(
        "li",
        "step",
        h("h2", null, "Publish"),
        h(
          "p",
          null,
          "Validates the document and publishes it; publishing the same version twice is refused, so bump the version for every release.",
        ),
        codeBlock("publish", "mcp-publisher publish", "shell"),
      ),
    ),
    h(
      "p",
      "muted",
      "The API behind all this is documented at ",
      h("a", { attrs: { href: "/docs" } }, "/docs"),
      ".",
    ),
  ];
}

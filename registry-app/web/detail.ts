// A server's page (/servers/{name}[?version=]): what it is, its status, how to install each package, its
// remotes, every version with its status, and the raw server.json. One API request: all versions.
import type { Api } from "./api";
import {
  classificationOf,
  codeBlock,
  copyButton,
  displayTitle,
  errorPanel,
  externalLink,
  formatDate,
  serverIcon,
  statusBadge,
} from "./components";
import { h, icon, mount, type Child } from "./dom";
import { valueLabel } from "./facets";
import { serverPath } from "./router";
import { packageGuide, remoteGuide, type InstallGuide } from "./snippets";
import type { ServerResponse } from "./types";

const OFFICIAL = "io.modelcontextprotocol.registry/official";

function metaOf(entry: ServerResponse) {
  return entry._meta[OFFICIAL];
}

function guideCard(guide: InstallGuide): HTMLElement {
  return h(
    "article",
    "card guide",
    h("h3", "guide-title", guide.title),
    guide.inputs.length > 0 &&
      h(
        "dl",
        "inputs",
        guide.inputs.flatMap((input) => [
          h(
            "dt",
            null,
            h("code", null, input.name),
            " ",
            h("span", "input-kind", input.kind),
            input.required
              ? h("span", "badge badge-required", "required")
              : h("span", "badge badge-optional", "optional"),
            input.secret && h("span", "badge badge-secret", icon("lock"), " secret"),
          ),
          h("dd", null, input.description || "No description."),
        ]),
      ),
    guide.snippets.map((snippet) => codeBlock(snippet.label, snippet.code, snippet.language)),
  );
}

function statusNotice(entry: ServerResponse): HTMLElement | false {
  const meta = metaOf(entry);
  if (meta.status === "active") return false;
  const what = meta.status === "deprecated" ? "This version is deprecated" : "This version is deleted";
  return h(
    "div",
    { class: `panel panel-${meta.status}`, attrs: { role: "note" } },
    h(
      "p",
      "panel-title",
      icon("alert"),
      ` ${what}`,
      meta.statusChangedAt && [" since ", formatDate(meta.statusChangedAt)],
      ".",
    ),
    meta.statusMessage && h("p", "status-message", meta.statusMessage),
  );
}

function versionsTable(name: string, entries: ServerResponse[], shown: ServerResponse): HTMLElement {
  return h(
    "div",
    "table-scroll",
    h(
      "table",
      "versions",
      h("caption", "visually-hidden", `All ${entries.length} versions, newest first`),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { attrs: { scope: "col" } }, "Version"),
          h("th", { attrs: { scope: "col" } }, "Published"),
          h("th", { attrs: { scope: "col" } }, "Status"),
        ),
      ),
      h(
        "tbody",
        null,
        entries.map((entry) => {
          const meta = metaOf(entry);
          const current = entry === shown;
          return h(
            "tr",
            current ? "current" : null,
            h(
              "th",
              { attrs: { scope: "row" } },
              h(
                "a",
                {
                  attrs: {
                    href: serverPath(name, entry.server.version),
                    "aria-current": current ? "page" : undefined,
                  },
                },
                entry.server.version,
              ),
              meta.isLatest && h("span", "badge badge-latest", "latest"),
            ),
            h("td", null, formatDate(meta.publishedAt)),
            h(
              "td",
              null,
              statusBadge(meta.status),
              meta.statusMessage && h("span", "version-message", meta.statusMessage),
            ),
          );
        }),
      ),
    ),
  );
}

/** Categories and tags as links to the catalogue filtered by them. */
function classificationLinks(entry: ServerResponse): HTMLElement | false {
  const { categories, tags } = classificationOf(entry);
  if (categories.length === 0 && tags.length === 0) return false;
  return h(
    "ul",
    { class: "chips classification", attrs: { "aria-label": "Categories and tags" } },
    categories.map((id) =>
      h(
        "li",
        null,
        h(
          "a",
          { class: "chip chip-category", attrs: { href: `/?category=${encodeURIComponent(id)}` } },
          valueLabel("category", id),
        ),
      ),
    ),
    tags.map((tag) =>
      h(
        "li",
        null,
        h("a", { class: "chip chip-quiet", attrs: { href: `/?tag=${encodeURIComponent(tag)}` } }, `#${tag}`),
      ),
    ),
  );
}

function section(id: string, title: string, ...content: Parameters<typeof h>[2][]): HTMLElement {
  return h(
    "section",
    { class: "detail-section", attrs: { "aria-labelledby": id } },
    h("h2", { attrs: { id } }, title),
    ...content,
  );
}

export function renderServer(
  entries: ServerResponse[],
  version: string | undefined,
): { main: Child[]; title: string } | undefined {
  const shown =
    (version === undefined ? undefined : entries.find((entry) => entry.server.version === version)) ??
    (version === undefined ? (entries.find((entry) => metaOf(entry).isLatest) ?? entries[0]) : undefined);
  if (shown === undefined) return undefined;
  const { server } = shown;
  const meta = metaOf(shown);
  const links = [
    server.repository?.url && h("li", null, externalLink(server.repository.url, icon("repo"), " Repository")),
    server.websiteUrl && h("li", null, externalLink(server.websiteUrl, icon("link"), " Website")),
  ].filter(Boolean);
  const json = JSON.stringify(server, null, 2);
  const packages = server.packages ?? [];
  const remotes = server.remotes ?? [];
  const main: Child[] = [
    h(
      "nav",
      { class: "breadcrumb", attrs: { "aria-label": "Breadcrumb" } },
      h("a", { attrs: { href: "/" } }, icon("back"), " All servers"),
    ),
    h(
      "header",
      "server-header",
      serverIcon(server, "large"),
      h(
        "div",
        "server-heading",
        h("h1", null, displayTitle(server)),
        h("p", "server-name", server.name),
        h(
          "ul",
          { class: "chips", attrs: { "aria-label": "Version and status" } },
          h("li", "chip chip-quiet", `v${server.version}`),
          meta.isLatest && h("li", null, h("span", "badge badge-latest", "latest")),
          h("li", null, statusBadge(meta.status)),
          h("li", "chip chip-quiet", "Published ", formatDate(meta.publishedAt)),
        ),
      ),
    ),
    h("p", "server-description", server.description),
    classificationLinks(shown),
    links.length > 0 && h("ul", "server-links", links),
    statusNotice(shown),
    section(
      "install",
      "Install",
      packages.length === 0 && remotes.length === 0
        ? h("p", "muted", "This version lists no packages or remotes.")
        : [
            packages.length > 0 &&
              h(
                "div",
                "guides",
                packages.map((pkg) => guideCard(packageGuide(server.name, pkg))),
              ),
            remotes.length > 0 && [
              h("h3", "subheading", "Remote endpoints"),
              h(
                "div",
                "guides",
                remotes.map((remote) => guideCard(remoteGuide(server.name, remote))),
              ),
            ],
          ],
    ),
    section("history", "Version history", versionsTable(server.name, entries, shown)),
    section(
      "raw",
      "server.json",
      h(
        "figure",
        "code-block",
        h(
          "figcaption",
          null,
          h("span", "code-label", `server.json of ${server.version}`),
          copyButton(() => json, "server.json"),
        ),
        h("pre", { attrs: { tabindex: "0", "data-language": "json" } }, h("code", null, json)),
      ),
    ),
  ];
  return { main, title: `${displayTitle(server)} ${server.version}` };
}

export async function showServer(
  api: Api,
  main: HTMLElement,
  name: string,
  version: string | undefined,
  onUnauthorized: (error: unknown) => boolean,
): Promise<string> {
  main.setAttribute("aria-busy", "true");
  mount(main, h("p", "loading", "Loading ", name, "…"));
  try {
    const list = await api.versions(name);
    const rendered = renderServer(list.servers, version);
    main.removeAttribute("aria-busy");
    if (rendered === undefined) {
      mount(
        main,
        h("nav", "breadcrumb", h("a", { attrs: { href: serverPath(name) } }, icon("back"), " All versions")),
        errorPanel(new Error(`${name} has no version ${version ?? ""}.`)),
      );
      return "Version not found";
    }
    mount(main, rendered.main);
    return rendered.title;
  } catch (error) {
    main.removeAttribute("aria-busy");
    if (onUnauthorized(error)) return "Sign in";
    mount(
      main,
      h("nav", "breadcrumb", h("a", { attrs: { href: "/" } }, icon("back"), " All servers")),
      errorPanel(error, () => void showServer(api, main, name, version, onUnauthorized)),
    );
    return "Error";
  }
}

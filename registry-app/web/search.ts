// Home and search: a search box with ranked results as you type, facet filters, and "load more" paging by
// cursor. Everything the view shows follows from the URL (?q=...&category=...), so a search can be shared.
import type { Api } from "./api";
import { classificationOf, displayTitle, errorPanel, serverIcon, statusBadge } from "./components";
import { announce, h, icon, mount } from "./dom";
import { FACET_NAMES, facetGroups, filtersOf, valueLabel, type FacetGroup, type FilterParam } from "./facets";
import { serverPath, type Router } from "./router";
import type { ServerList, ServerResponse } from "./types";

const PAGE_SIZE = 20;
/** Values a facet shows before "Show all". */
const FACET_PREVIEW = 8;
const DEBOUNCE_MS = 250;
const OFFICIAL = "io.modelcontextprotocol.registry/official";

/** The API query of a page URL: the search text, the filters and the facets the page shows. */
export function apiQuery(params: URLSearchParams, cursor?: string): URLSearchParams {
  const query = new URLSearchParams({ version: "latest", limit: String(PAGE_SIZE) });
  const text = params.get("q")?.trim();
  if (text) query.set("search", text);
  for (const [param, values] of filtersOf(params)) for (const value of values) query.append(param, value);
  // Counts cover every page: the first page asks for them, "load more" does not.
  if (cursor === undefined) query.set("facets", FACET_NAMES.join(","));
  else query.set("cursor", cursor);
  return query;
}

function packageTypes(entry: ServerResponse): string[] {
  return [...new Set((entry.server.packages ?? []).map((pkg) => pkg.registryType))];
}

function resultCard(entry: ServerResponse, titles: ReadonlyMap<string, string>): HTMLElement {
  const { server } = entry;
  const meta = entry._meta[OFFICIAL];
  const tags = [
    ...classificationOf(entry).categories.map((id) =>
      h("li", "chip chip-category", valueLabel("category", id, titles)),
    ),
    ...packageTypes(entry).map((type) => h("li", "chip", valueLabel("registry_type", type))),
    (server.remotes ?? []).length > 0 && h("li", "chip", "Remote"),
    h("li", "chip chip-quiet", `v${server.version}`),
    meta.status !== "active" && h("li", null, statusBadge(meta.status)),
  ];
  return h(
    "li",
    "card result",
    serverIcon(server, "small"),
    h(
      "div",
      "result-body",
      h("h3", "result-title", h("a", { attrs: { href: serverPath(server.name) } }, displayTitle(server))),
      h("p", "result-name", server.name),
      h("p", "result-description", server.description),
      h("ul", { class: "chips", attrs: { "aria-label": "Details" } }, tags),
    ),
  );
}

export class SearchView {
  private readonly input: HTMLInputElement;
  private readonly filters = h("div", "filter-groups");
  private readonly activeFilters = h("span", "active-filters");
  // Open beside the results on wide screens; folded above them on phones, where it would push them away.
  private readonly filterPanel = h(
    "details",
    "filter-panel",
    h(
      "summary",
      { class: "filters-heading", attrs: { id: "filters-heading" } },
      icon("filter"),
      " Filters",
      this.activeFilters,
    ),
    this.filters,
  );
  private readonly summary = h("p", {
    class: "results-summary",
    attrs: { id: "results-summary", "aria-live": "polite" },
  });
  private readonly list = h("ol", { class: "result-list", attrs: { "aria-labelledby": "results-heading" } });
  private readonly more = h("div", "load-more");
  private readonly status = h("div", "results-status");
  private readonly results: HTMLElement;
  private params = new URLSearchParams();
  private controller: AbortController | undefined;
  private debounce: number | undefined;
  private loaded = 0;
  private total: number | undefined;
  private facets: unknown;
  private titles: ReadonlyMap<string, string> = new Map();
  private readonly expanded = new Set<FilterParam>();

  constructor(
    private readonly api: Api,
    private readonly router: Router,
    private readonly onUnauthorized: (error: unknown) => boolean,
    private readonly categories?: ReadonlyArray<{ id: string; title: string }>,
  ) {
    if (categories !== undefined) this.titles = new Map(categories.map((c) => [c.id, c.title]));
    this.input = h("input", {
      class: "search-input",
      attrs: {
        id: "search",
        type: "search",
        name: "q",
        placeholder: "Search by name, title or description",
        autocomplete: "off",
        spellcheck: "false",
        "aria-describedby": "search-help",
      },
      on: { input: () => this.typed() },
    });
    this.results = h(
      "section",
      { class: "results", attrs: { "aria-labelledby": "results-heading" } },
      h("h2", { class: "visually-hidden", attrs: { id: "results-heading" } }, "Servers"),
      this.summary,
      this.status,
      this.list,
      this.more,
    );
  }

  mount(main: HTMLElement, params: URLSearchParams): void {
    this.filterPanel.open = window.matchMedia("(min-width: 801px)").matches;
    const form = h(
      "form",
      {
        class: "search",
        attrs: { role: "search" },
        on: { submit: (event) => (event.preventDefault(), this.commitSearch()) },
      },
      h("label", { class: "visually-hidden", attrs: { for: "search" } }, "Search servers"),
      icon("search"),
      this.input,
    );
    mount(
      main,
      h(
        "section",
        "hero",
        h("h1", null, "Find an approved MCP server"),
        h(
          "p",
          { class: "lead", attrs: { id: "search-help" } },
          "Every server in this private registry, with install snippets for your MCP client. Results update as you type.",
        ),
        form,
      ),
      h(
        "div",
        "catalogue",
        h("aside", { class: "filters", attrs: { "aria-labelledby": "filters-heading" } }, this.filterPanel),
        this.results,
      ),
    );
    this.show(params);
  }

  /** A new URL for this view (back/forward, a filter click): keeps the box unless the user is typing in it. */
  show(params: URLSearchParams): void {
    this.params = new URLSearchParams(params);
    if (document.activeElement !== this.input) this.input.value = params.get("q") ?? "";
    void this.load();
  }

  dispose(): void {
    this.controller?.abort();
    window.clearTimeout(this.debounce);
  }

  private urlWith(change: (params: URLSearchParams) => void): string {
    const next = new URLSearchParams(this.params);
    change(next);
    const query = next.toString();
    return query === "" ? "/" : `/?${query}`;
  }

  private typed(): void {
    window.clearTimeout(this.debounce);
    this.debounce = window.setTimeout(() => this.commitSearch(), DEBOUNCE_MS);
  }

  private commitSearch(): void {
    window.clearTimeout(this.debounce);
    const text = this.input.value.trim();
    if (text === (this.params.get("q") ?? "")) return;
    const url = this.urlWith((params) => (text === "" ? params.delete("q") : params.set("q", text)));
    // Typing replaces the history entry: Back leaves the search instead of undoing one letter at a time.
    this.router.replaceQuiet(url);
    this.params = new URL(url, location.href).searchParams;
    void this.load();
  }

  private toggle(param: FilterParam, value: string, multiple: boolean, on: boolean): void {
    this.router.go(
      this.urlWith((params) => {
        const current = params.getAll(param).filter((v) => v !== value);
        params.delete(param);
        const next = on ? (multiple ? [...current, value] : [value]) : current;
        for (const item of next) params.append(param, item);
      }),
    );
  }

  private clearFilters(): void {
    const text = this.params.get("q");
    this.router.go(text ? `/?${new URLSearchParams({ q: text }).toString()}` : "/");
  }

  private clearAll(): void {
    this.input.value = "";
    this.router.go("/");
  }

  private async load(): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.results.setAttribute("aria-busy", "true");
    let page: ServerList;
    try {
      page = await this.api.servers(apiQuery(this.params), controller.signal);
    } catch (error) {
      if (controller.signal.aborted || this.onUnauthorized(error)) return;
      this.results.removeAttribute("aria-busy");
      mount(
        this.status,
        errorPanel(error, () => void this.load()),
      );
      this.list.replaceChildren();
      this.more.replaceChildren();
      this.summary.textContent = "";
      return;
    }
    this.results.removeAttribute("aria-busy");
    this.status.replaceChildren();
    this.facets = page.metadata.facets;
    this.total = page.metadata.totalCount;
    this.renderFilters();
    mount(
      this.list,
      page.servers.map((entry) => resultCard(entry, this.titles)),
    );
    this.loaded = page.servers.length;
    void this.loadTitles();
    this.renderSummary(page.metadata.nextCursor !== undefined);
    this.renderMore(page.metadata.nextCursor);
    if (page.servers.length === 0) mount(this.status, this.emptyState());
  }

  private async loadMore(cursor: string, button: HTMLButtonElement): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    button.disabled = true;
    button.textContent = "Loading…";
    let page: ServerList;
    try {
      page = await this.api.servers(apiQuery(this.params, cursor), controller.signal);
    } catch (error) {
      if (controller.signal.aborted || this.onUnauthorized(error)) return;
      mount(
        this.more,
        errorPanel(error, () => void this.loadMore(cursor, button)),
      );
      return;
    }
    const cards = page.servers.map((entry) => resultCard(entry, this.titles));
    this.list.append(...cards);
    this.loaded += cards.length;
    this.renderSummary(page.metadata.nextCursor !== undefined);
    this.renderMore(page.metadata.nextCursor);
    // Keyboard users continue from the first new result rather than from the top of the page.
    cards[0]?.querySelector("a")?.focus();
    announce(`${cards.length} more servers loaded`);
  }

  /**
   * Titles of the taxonomy's categories: in the page's settings, or (private reads) fetched once after the
   * first results, which show ids in words until then.
   */
  private async loadTitles(): Promise<void> {
    if (this.titles.size > 0) return;
    try {
      const categories = this.categories ?? (await this.api.categories()).categories;
      this.titles = new Map(categories.map((category) => [category.id, category.title]));
      this.renderFilters();
    } catch {
      // Without titles, categories show as their ids in words.
    }
  }

  private renderSummary(more: boolean): void {
    const text = this.params.get("q")?.trim();
    const total = this.total ?? this.loaded;
    const shown = this.total === undefined && more ? `${total}+` : String(total);
    const count = `${shown} ${total === 1 ? "server" : "servers"}`;
    this.summary.textContent = text ? `${count} matching “${text}”` : `${count}`;
    if (filtersOf(this.params).size > 0) this.summary.textContent += " with the chosen filters";
  }

  private renderMore(cursor: string | undefined): void {
    if (cursor === undefined) {
      this.more.replaceChildren();
      return;
    }
    const button: HTMLButtonElement = h(
      "button",
      {
        class: "button button-secondary",
        attrs: { type: "button" },
        on: { click: () => void this.loadMore(cursor, button) },
      },
      "Load more",
    );
    mount(this.more, button);
  }

  private emptyState(): HTMLElement {
    const filtered = (this.params.get("q") ?? "") !== "" || filtersOf(this.params).size > 0;
    if (filtered) {
      return h(
        "div",
        "panel empty",
        h("h2", "panel-title", "No servers match"),
        h("p", null, "Try other words, or fewer filters."),
        h(
          "button",
          { class: "button", attrs: { type: "button" }, on: { click: () => this.clearAll() } },
          "Clear search and filters",
        ),
      );
    }
    return h(
      "div",
      "panel empty",
      h("h2", "panel-title", "This registry is empty"),
      h(
        "p",
        null,
        "No server has been published yet. ",
        h("a", { attrs: { href: "/publish" } }, "Publish the first one"),
        ".",
      ),
    );
  }

  /** The first values of a long facet (the selected ones always), or all once the user asked. */
  private visibleOptions(group: FacetGroup): FacetGroup["options"] {
    if (this.expanded.has(group.param) || group.options.length <= FACET_PREVIEW + 1) return group.options;
    const selected = filtersOf(this.params).get(group.param) ?? [];
    return group.options.filter((option, index) => index < FACET_PREVIEW || selected.includes(option.value));
  }

  private showAllToggle(group: FacetGroup): HTMLElement | false {
    if (group.options.length <= FACET_PREVIEW + 1) return false;
    const expanded = this.expanded.has(group.param);
    return h(
      "button",
      {
        class: "button button-link show-all",
        attrs: {
          type: "button",
          id: `show-all-${group.param}`,
          "aria-expanded": String(expanded),
          "aria-controls": `filter-list-${group.param}`,
        },
        on: {
          click: () => {
            if (expanded) this.expanded.delete(group.param);
            else this.expanded.add(group.param);
            this.renderFilters();
            document.getElementById(`show-all-${group.param}`)?.focus();
          },
        },
      },
      expanded ? "Show fewer" : `Show all ${group.options.length}`,
      h("span", "visually-hidden", ` ${group.label.toLowerCase()} values`),
    );
  }

  private renderFilters(): void {
    const selected = filtersOf(this.params);
    const groups = facetGroups(this.facets, selected, this.titles);
    const active = [...selected.values()].reduce((sum, values) => sum + values.length, 0);
    this.activeFilters.textContent = active > 0 ? ` (${active} on)` : "";
    // The checkboxes are rebuilt with the new counts; keyboard focus stays on the one the user was on.
    const focused = this.filters.contains(document.activeElement) ? document.activeElement?.id : undefined;
    mount(
      this.filters,
      groups.map((group) =>
        h(
          "fieldset",
          "filter-group",
          h("legend", null, group.label),
          h(
            "ul",
            { attrs: { id: `filter-list-${group.param}` } },
            this.visibleOptions(group).map((option) => {
              const checked = (selected.get(group.param) ?? []).includes(option.value);
              const id = `filter-${group.param}-${option.value}`.replace(/[^A-Za-z0-9_-]/g, "_");
              const box = h("input", {
                attrs: { type: "checkbox", id, name: group.param, value: option.value, checked },
                on: { change: () => this.toggle(group.param, option.value, group.multiple, box.checked) },
              });
              return h(
                "li",
                option.count === 0 && !checked ? "filter-option empty" : "filter-option",
                box,
                h(
                  "label",
                  { attrs: { for: id } },
                  h("span", "filter-label", option.label),
                  h("span", "count", String(option.count), h("span", "visually-hidden", " servers")),
                ),
              );
            }),
          ),
          this.showAllToggle(group),
        ),
      ),
      selected.size > 0 &&
        h(
          "button",
          {
            class: "button button-link",
            attrs: { type: "button" },
            on: { click: () => this.clearFilters() },
          },
          "Clear filters",
        ),
    );
    if (focused) document.getElementById(focused)?.focus();
  }
}

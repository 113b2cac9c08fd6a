/// <reference lib="dom" />
// Page functions passed to evaluate() run in the browser: they need the DOM types.
// The web catalogue in a real browser (Debian's Chromium through playwright-core) against the real service
// on PostgreSQL, seeded with the shared dataset of 464 servers.
import assert from "node:assert/strict";
import fs from "node:fs";
import type { Page } from "playwright-core";
import { FakeOidcIssuer } from "../auth/fakes";
import { DATASET } from "../support/conformance";
import { bearer, testRegistry, type TestRegistry } from "../support/registry";
import {
  assertAccessible,
  launchBrowser,
  requireChromium,
  screenshot,
  watchedPage,
  type Browser,
  type Watched,
} from "./browser";

const datasetFile = process.env.TEST_DATASET ?? DATASET;
const DEPRECATED = "io.github.korotovsky/slack-mcp-server";
const PUBLISHER_META = "io.modelcontextprotocol.registry/publisher-provided";

/** Categories and tags for the dataset's servers, from words of their names and descriptions. */
const KEYWORDS: ReadonlyArray<[RegExp, string]> = [
  [/\b(database|sql|postgres\w*|mysql|mongo\w*|redis|sqlite|mariadb)\b/i, "databases"],
  [/\b(kubernetes|k8s|docker|aws|azure|cloud|gcp)\b/i, "cloud-platforms"],
  [/\bsearch\b/i, "search"],
  [/\b(browser|playwright|puppeteer)\b/i, "browser"],
];

function classified(document: Record<string, unknown>): Record<string, unknown> {
  const text = `${String(document.name)} ${String(document.description)}`;
  const matches = KEYWORDS.filter(([pattern]) => pattern.test(text));
  if (matches.length === 0) return document;
  const meta = (document._meta ?? {}) as Record<string, unknown>;
  const tags = matches.map(([pattern]) => (pattern.exec(text)?.[1] ?? "").toLowerCase());
  return {
    ...document,
    _meta: { ...meta, [PUBLISHER_META]: { categories: matches.map(([, category]) => category), tags } },
  };
}
const DEPRECATION_MESSAGE = "Replaced by the workspace's own Slack connector; migrate by June.";

async function listen(registry: TestRegistry): Promise<string> {
  return registry.app.listen({ host: "127.0.0.1", port: 0 });
}

/** Waits until the result list has settled at `count` cards (or more with `atLeast`). */
async function resultNames(page: Page): Promise<string[]> {
  await page.waitForFunction(() => document.querySelector(".results")?.getAttribute("aria-busy") !== "true");
  return page.locator(".result .result-name").allTextContents();
}

async function assertNoViolations(watched: Watched): Promise<void> {
  assert.deepEqual(await watched.cspViolations(), [], "the page violated its Content-Security-Policy");
  assert.deepEqual(watched.errors, [], "the page logged errors");
}

describe("web: the catalogue in Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let registry: TestRegistry;
  let base: string;
  let dataset: Record<string, unknown>[];

  before(async function () {
    requireChromium(this);
    if (!fs.existsSync(datasetFile)) {
      const message = `${datasetFile} is absent (../shared beside the repository; TEST_DATASET points elsewhere)`;
      if (process.env.CI === "true") throw new Error(message);
      console.log(`      skipped: ${message}`);
      this.skip();
    }
    dataset = JSON.parse(fs.readFileSync(datasetFile, "utf8")) as Record<string, unknown>[];
    registry = await testRegistry("web-browser", { MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" });
    const report = await registry.runtime.ingestor.publishAll(
      dataset.map((document, index) => ({ origin: `dataset[${index}]`, document: classified(document) })),
      "dataset",
    );
    assert.equal(report.published, dataset.length, JSON.stringify(report));
    const admin = await registry.token([{ action: "edit", resource: "*" }]);
    const deprecated = await registry.app.inject({
      method: "PATCH",
      url: `/v0.1/servers/${encodeURIComponent(DEPRECATED)}/versions/1.0.0/status`,
      headers: bearer(admin),
      payload: { status: "deprecated", statusMessage: DEPRECATION_MESSAGE },
    });
    assert.equal(deprecated.statusCode, 200, deprecated.body);
    base = await listen(registry);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await registry?.close();
  });

  it("renders the home page from one API request, accessible, within its CSP, at 1280 and 390 px", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Find an approved MCP server" }).waitFor();
    const names = await resultNames(page);
    assert.equal(names.length, 20, "the first page shows 20 servers");
    assert.equal(watched.apiRequests.length, 1, `first render made ${JSON.stringify(watched.apiRequests)}`);
    assert.match(watched.apiRequests[0]?.url ?? "", /^\/v0\.1\/servers\?version=latest&limit=20/);
    await assertAccessible(page, "home");
    await screenshot(page, "home-1280", false);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "home-390", false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390 px`);
    await page.setViewportSize({ width: 360, height: 800 });
    assert.ok(
      (await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0,
      "360 px",
    );
    await page.emulateMedia({ colorScheme: "dark" });
    await assertAccessible(page, "home, dark");
    await screenshot(page, "home-360-dark", false);
    await assertNoViolations(watched);
    await page.close();
  });

  it("narrows the results as you type (debounced) and keeps the search in the URL", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/`);
    const before = await resultNames(page);
    await page.getByLabel("Search servers").pressSequentially("kubernetes", { delay: 40 });
    await page.waitForURL(/\?q=kubernetes$/);
    const names = await resultNames(page);
    assert.ok(names.length > 0 && names.length < before.length, `got ${names.length} results`);
    const cards = await page.locator(".result").allTextContents();
    assert.match(cards[0] ?? "", /kubernetes/i, "the best-ranked result mentions the search");
    const searches = watched.apiRequests.filter((r) => r.url.includes("search="));
    assert.ok(searches.length <= 2, `typing 10 letters sent ${searches.length} searches`);
    await assertAccessible(page, "search results");
    await screenshot(page, "search-1280");
    // Shared link: a fresh page at the same URL shows the same results.
    const shared = await watchedPage(browser.context);
    await shared.page.setViewportSize({ width: 390, height: 844 });
    await shared.page.goto(page.url());
    assert.deepEqual(await resultNames(shared.page), names);
    assert.equal(await shared.page.getByLabel("Search servers").inputValue(), "kubernetes");
    await screenshot(shared.page, "search-390");
    await assertNoViolations(watched);
    await assertNoViolations(shared);
    await page.close();
    await shared.page.close();
  });

  it("filters by facet: clicks change the URL and the results, counts match the API, Back undoes", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    const api = async (query: string) => {
      const response = await registry.app.inject({
        method: "GET",
        url: `/v0.1/servers?version=latest&limit=20&${query}`,
      });
      const body = JSON.parse(response.body) as {
        servers: { server: { name: string } }[];
        metadata: { totalCount?: number };
      };
      return { names: body.servers.map((entry) => entry.server.name), total: body.metadata.totalCount };
    };
    await page.goto(`${base}/`);
    await resultNames(page);
    const databases = page
      .getByRole("group", { name: "Category" })
      .getByRole("checkbox", { name: /Databases/ });
    const shownCount = await page.locator("label[for=filter-category-databases] .count").textContent();
    // From the keyboard: Space toggles it, and focus stays on it while the filters are rebuilt.
    await databases.focus();
    await page.keyboard.press("Space");
    await page.waitForURL(`${base}/?category=databases`);
    const byCategory = await api("category=databases&facets=category");
    assert.ok((byCategory.total ?? 0) > 0 && (byCategory.total ?? 0) < dataset.length);
    assert.equal(
      shownCount?.replace(/\D/g, ""),
      String(byCategory.total),
      "the facet's count is the API's total",
    );
    assert.deepEqual(await resultNames(page), byCategory.names);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "filter-category-databases");
    assert.ok(await databases.isChecked());
    assert.match(
      (await page.locator(".results-summary").textContent()) ?? "",
      new RegExp(`^${byCategory.total} servers`),
    );
    await page.getByRole("group", { name: "Package type" }).getByRole("checkbox", { name: /npm/ }).check();
    await page.waitForURL(`${base}/?category=databases&registry_type=npm`);
    const both = await api("category=databases&registry_type=npm&facets=category");
    assert.ok(both.names.length > 0 && both.names.length < byCategory.names.length);
    assert.deepEqual(await resultNames(page), both.names);
    for (const card of await page.locator(".result").allTextContents()) assert.match(card, /npm/);
    await assertAccessible(page, "filtered results");
    await page.goBack();
    await page.waitForURL(`${base}/?category=databases`);
    assert.deepEqual(await resultNames(page), byCategory.names);
    assert.equal(
      await page
        .getByRole("group", { name: "Package type" })
        .getByRole("checkbox", { name: /npm/ })
        .isChecked(),
      false,
    );
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.waitForURL(`${base}/`);
    await page
      .getByRole("group", { name: "Status" })
      .getByRole("checkbox", { name: /Deprecated/ })
      .check();
    await page.waitForURL(`${base}/?status=deprecated`);
    assert.deepEqual(await resultNames(page), [DEPRECATED]);
    await assertNoViolations(watched);
    await page.close();
  });

  it("works from the keyboard alone: skip link, search, a result, its page", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/`);
    await resultNames(page);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "search");
    await page.keyboard.type("kubernetes");
    await page.waitForURL(/\?q=kubernetes$/);
    await resultNames(page);
    let focused = "";
    for (let i = 0; i < 30 && !focused.startsWith("/servers/"); i += 1) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.getAttribute("href") ?? "");
    }
    assert.match(focused, /^\/servers\//, "no result link is reachable with Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${base}${focused}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      "main",
      "focus stays behind on the old view",
    );
    await assertNoViolations(watched);
    await page.close();
  });

  it("pages with load more by cursor, in the API's order, without duplicates", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/`);
    await resultNames(page);
    const button = page.getByRole("button", { name: "Load more" });
    await button.click();
    await page.waitForFunction(() => document.querySelectorAll(".result").length === 40);
    await button.click();
    await page.waitForFunction(() => document.querySelectorAll(".result").length === 60);
    const shown = await page.locator(".result .result-name").allTextContents();
    assert.equal(new Set(shown).size, 60, "a server appears twice");
    const expected: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 3; i += 1) {
      const response = await registry.app.inject({
        method: "GET",
        url: `/v0.1/servers?version=latest&limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      });
      const body = JSON.parse(response.body) as {
        servers: { server: { name: string } }[];
        metadata: { nextCursor?: string };
      };
      expected.push(...body.servers.map((entry) => entry.server.name));
      cursor = body.metadata.nextCursor;
    }
    assert.deepEqual(shown, expected);
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      await page.locator(".result-title a").nth(40).textContent(),
      "focus moves to the first new result",
    );
    await assertNoViolations(watched);
    await page.close();
  });

  it("shows a server's packages with a copy-ready install snippet, required inputs marked", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/?q=magic`);
    await page.getByRole("link", { name: /magic/i }).first().click();
    await page.waitForURL(`${base}/servers/io.github.21st-dev/magic-mcp`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    assert.equal(
      watched.apiRequests.filter((r) => r.url.includes("/versions")).length,
      1,
      "one request for the detail",
    );
    const install = page.locator("section", { has: page.getByRole("heading", { name: "Install" }) });
    assert.match((await install.textContent()) ?? "", /npx -y @21st-dev\/magic@0\.0\.46/);
    assert.match(
      (await install.locator("dt", { hasText: "API_KEY" }).textContent()) ?? "",
      /API_KEY.*environment variable.*optional/,
    );
    await page.getByRole("button", { name: "Copy npx snippet" }).click();
    await page.getByRole("button", { name: "Copied npx snippet" }).waitFor();
    const raw = await page
      .locator("section", { has: page.getByRole("heading", { name: "server.json" }) })
      .locator("pre")
      .textContent();
    assert.equal(JSON.parse(raw ?? "").name, "io.github.21st-dev/magic-mcp");
    assert.match((await page.locator("table.versions").textContent()) ?? "", /1\.0\.0.*latest/);
    await assertAccessible(page, "detail");
    await screenshot(page, "detail-1280");
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "detail-390");
    assert.ok(
      (await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0,
      "detail at 390 px",
    );
    await page.goBack();
    await page.waitForURL(`${base}/?q=magic`);
    assert.equal(await page.getByLabel("Search servers").inputValue(), "magic");
    await assertNoViolations(watched);
    await page.close();
  });

  it("shows a deprecated version's status and message, in the list and on its page", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/?q=slack`);
    const card = page.locator(".result", { hasText: DEPRECATED });
    await card.getByText("deprecated").waitFor();
    await card.getByRole("link").click();
    const notice = page.getByRole("note");
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? "", /This version is deprecated/);
    assert.match((await notice.textContent()) ?? "", new RegExp(DEPRECATION_MESSAGE.replace(/[.']/g, ".")));
    await assertAccessible(page, "deprecated detail");
    await assertNoViolations(watched);
    await page.close();
  });

  it("explains API errors in words, never a blank page", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/servers/com.example/does-not-exist`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(
      (await alert.textContent()) ?? "",
      /Not Found.*Server "com\.example\/does-not-exist" was not found/,
    );
    await page.goto(`${base}/?q=${"x".repeat(201)}`);
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Bad Request.*query\.search/);
    await assertNoViolations(watched);
    await page.close();
  });

  it("tells publishers how to log in and publish here, with the enabled login methods", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "Publish" }).click();
    await page.getByRole("heading", { name: "Publish to this registry" }).waitFor();
    const text = (await page.locator("main").textContent()) ?? "";
    assert.match(text, new RegExp(`mcp-publisher login none --registry ${base.replace(/\./g, "\\.")}`));
    const methods = await page
      .locator("[data-method]")
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-method")));
    assert.deepEqual(
      methods,
      registry.registry.auth.loginMethods.filter((m) => m !== "oidc"),
    );
    await assertAccessible(page, "publish help");
    await assertNoViolations(watched);
    await page.close();
  });

  it("detects a CSP violation when there is one (the watcher itself works)", async () => {
    const watched = await watchedPage(browser.context);
    await watched.page.goto(`${base}/`);
    await watched.page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.body.appendChild(script);
    });
    await watched.page.waitForFunction(
      () => ((window as unknown as { __cspViolations: string[] }).__cspViolations ?? []).length > 0,
    );
    assert.match((await watched.cspViolations()).join("\n"), /script-src/);
    await watched.page.close();
  });
});

describe("web: an empty registry in Chromium", function () {
  this.timeout(60_000);
  let browser: Browser;
  let registry: TestRegistry;

  before(async function () {
    requireChromium(this);
    registry = await testRegistry("web-empty");
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await registry?.close();
  });

  it("says the registry is empty and points to publishing", async () => {
    const base = await listen(registry);
    const watched = await watchedPage(browser.context);
    await watched.page.goto(`${base}/`);
    await watched.page.getByRole("heading", { name: "This registry is empty" }).waitFor();
    await watched.page.getByRole("link", { name: "Publish the first one" }).click();
    await watched.page.getByRole("heading", { name: "Publish to this registry" }).waitFor();
    await assertNoViolations(watched);
  });
});

describe("web: private reads sign in with OIDC (authorization code + PKCE) in Chromium", function () {
  this.timeout(60_000);
  let browser: Browser;
  let registry: TestRegistry;
  let issuer: FakeOidcIssuer;
  let base: string;

  before(async function () {
    requireChromium(this);
    issuer = await FakeOidcIssuer.start();
    registry = await testRegistry("web-private", {
      MCP_REGISTRY_OIDC_ENABLED: "true",
      MCP_REGISTRY_OIDC_ISSUER: issuer.issuer,
      MCP_REGISTRY_OIDC_CLIENT_ID: "registry-web",
      MCP_REGISTRY_READ_AUTH: "oidc",
    });
    const publisher = await registry.token([{ action: "publish", resource: "com.example/*" }]);
    for (const name of ["com.example/secret-weather", "com.example/secret-maps"]) {
      const published = await registry.app.inject({
        method: "POST",
        url: "/v0.1/publish",
        headers: bearer(publisher),
        payload: { name, version: "1.0.0", description: `Internal ${name}` },
      });
      assert.equal(published.statusCode, 200, published.body);
    }
    base = await listen(registry);
    issuer.registerClient({
      clientId: "registry-web",
      redirectUris: [`${base}/oauth/callback`],
      user: { sub: "alice", name: "Alice Example" },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await registry?.close();
    await issuer?.close();
  });

  it("shows nothing of the catalogue signed out, signs in, sends the token on API calls, keeps it in memory only", async () => {
    const watched = await watchedPage(browser.context);
    const { page } = watched;
    await page.goto(`${base}/?q=weather`);
    await page.getByRole("heading", { name: "Sign in to see the catalogue" }).waitFor();
    assert.equal(watched.apiRequests.length, 0, "a signed-out page called the API");
    assert.doesNotMatch((await page.locator("body").textContent()) ?? "", /secret|Publish to/);
    await assertAccessible(page, "sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    // The URL is /?q=weather before and after the round trip: wait for what only a signed-in page shows.
    await page.locator(".result").first().waitFor();
    assert.equal(page.url(), `${base}/?q=weather`);
    const names = await resultNames(page);
    assert.deepEqual(names, ["com.example/secret-weather"]);
    assert.equal(issuer.browserRequests.authorize, 1);
    assert.equal(issuer.browserRequests.token, 1);
    assert.ok(watched.apiRequests.length > 0);
    for (const request of watched.apiRequests)
      assert.match(request.authorization ?? "", /^Bearer ey/, request.url);
    assert.match((await page.locator(".account").textContent()) ?? "", /Alice Example/);
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    assert.doesNotMatch(stored, /ey[A-Za-z0-9_-]{10,}\./, "a token was written to web storage");
    assert.doesNotMatch(
      await page
        .context()
        .cookies()
        .then((c) => JSON.stringify(c)),
      /ey[A-Za-z0-9_-]{10,}\./,
    );
    // Client-side navigation keeps the in-memory token.
    await page.locator(".result-title a").first().click();
    await page.getByRole("heading", { level: 1 }).waitFor();
    assert.match((await page.locator("main").textContent()) ?? "", /Internal com\.example\/secret-weather/);
    await assertNoViolations(watched);
    // A reload forgets it: memory only.
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to see the catalogue" }).waitFor();
    await page.close();
  });

  it("refuses a callback that this tab did not start, in words", async () => {
    const watched = await watchedPage(browser.context);
    await watched.page.goto(`${base}/oauth/callback?code=forged&state=forged`);
    await watched.page.getByRole("heading", { name: "Sign in to see the catalogue" }).waitFor();
    assert.match(
      (await watched.page.getByRole("alert").textContent()) ?? "",
      /No sign-in was started in this tab/,
    );
    assert.equal(watched.apiRequests.length, 0);
    await watched.page.close();
  });
});

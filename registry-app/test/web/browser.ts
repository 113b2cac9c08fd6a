/// <reference lib="dom" />
// Page functions passed to evaluate() run in the browser: they need the DOM types.
// Headless Chromium from Debian (/usr/bin/chromium), driven by playwright-core: nothing downloads a browser.
// Each run gets a fresh profile; pages are watched for CSP violations and checked with axe-core.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Git-ignored: every screenshot of a run; registry-app/docs/ keeps one of each for the README. */
export const SCREENSHOT_DIR = path.resolve(__dirname, "../../test-output/screenshots");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Whether the browser tests can run: Chromium must be installed. In CI its absence fails the run; on a
 * developer's machine the suite is skipped with the command that installs it.
 */
export function requireChromium(suite: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  const message = `${CHROMIUM} is not installed: the browser tests need Debian's Chromium (as root: apt-get install -y chromium)`;
  if (process.env.CI === "true") throw new Error(message);
  console.log(`      skipped: ${message}`);
  suite.skip();
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "registry-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    timezoneId: "UTC",
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Watched {
  page: Page;
  /** securitypolicyviolation events and CSP console messages seen so far. */
  cspViolations(): Promise<string[]>;
  /** Uncaught errors and console errors of the page. */
  errors: string[];
  /** URLs of the API requests the page made, with their Authorization header. */
  apiRequests: Array<{ url: string; authorization: string | undefined }>;
}

/** A new page that records CSP violations (event listener installed before any page script) and errors. */
export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const consoleViolations: string[] = [];
  const errors: string[] = [];
  const apiRequests: Watched["apiRequests"] = [];
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (event) => {
      seen.push(
        `${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) consoleViolations.push(text);
    // The browser logs every non-2xx fetch; the page explains those itself, which the tests check.
    else if (message.type() === "error" && !text.startsWith("Failed to load resource")) errors.push(text);
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/v0.1/") || url.pathname.startsWith("/v0/"))
      apiRequests.push({ url: url.pathname + url.search, authorization: request.headers().authorization });
  });
  return {
    page,
    errors,
    apiRequests,
    cspViolations: async () => {
      const fromPage = await page
        .evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
        .catch(() => []);
      return [...fromPage, ...consoleViolations];
    },
  };
}

const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>;
}

/** axe-core (WCAG 2.0-2.2 A and AA rules) in the page: no serious or critical violation. */
export async function assertAccessible(page: Page, label: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the page's CSP does not apply to axe itself.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<unknown> } })
      .axe;
    return axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
      resultTypes: ["violations"],
    });
  })) as AxeResult;
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map(
      (v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`,
    ),
    [],
    `axe-core found serious or critical violations on ${label}`,
  );
}

/** A PNG of the page: the whole page, or only what the viewport shows (long lists). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

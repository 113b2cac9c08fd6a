import { ApiError } from "./api";
import { announce, h, icon, type Child } from "./dom";
import type { ServerJson, ServerResponse, Status } from "./types";

const CLASSIFICATION = "io.mcp-registry/classification";

/** Categories and tags as the registry indexes them (absent before any are declared). */
export function classificationOf(entry: ServerResponse): { categories: string[]; tags: string[] } {
  const found = entry._meta[CLASSIFICATION];
  return { categories: found?.categories ?? [], tags: found?.tags ?? [] };
}

export function statusBadge(status: Status): HTMLElement {
  return h("span", `badge badge-${status}`, status);
}

const DATE = new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric" });

export function formatDate(iso: string): HTMLTimeElement {
  const date = new Date(iso);
  return h(
    "time",
    { attrs: { datetime: iso, title: date.toISOString() } },
    Number.isNaN(date.getTime()) ? iso : DATE.format(date),
  );
}

/** The server's icon (the first https one, light theme preferred), or a monogram. */
export function serverIcon(server: ServerJson, size: "small" | "large"): HTMLElement {
  const icons = (server.icons ?? []).filter((entry) => entry.src.startsWith("https://"));
  const chosen = icons.find((entry) => entry.theme !== "dark") ?? icons[0];
  if (chosen !== undefined) {
    const image = h("img", {
      class: `server-icon server-icon-${size}`,
      attrs: { src: chosen.src, alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" },
    });
    // A broken icon falls back to the monogram instead of a broken image.
    image.addEventListener("error", () => image.replaceWith(monogram(server, size)), { once: true });
    return image;
  }
  return monogram(server, size);
}

function monogram(server: ServerJson, size: "small" | "large"): HTMLElement {
  const label = server.title ?? server.name.slice(server.name.lastIndexOf("/") + 1);
  const letter = (label.match(/[A-Za-z0-9]/)?.[0] ?? "?").toUpperCase();
  let hash = 0;
  for (const char of server.name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return h(
    "span",
    { class: `server-icon server-icon-${size} monogram hue-${hash % 6}`, attrs: { "aria-hidden": "true" } },
    letter,
  );
}

export function displayTitle(server: ServerJson): string {
  return server.title ?? server.name.slice(server.name.lastIndexOf("/") + 1);
}

/** An API error or sign-in problem in words, with what to do next. */
export function errorPanel(error: unknown, retry?: () => void): HTMLElement {
  const title = error instanceof ApiError ? error.title : "Something went wrong";
  const detail =
    error instanceof Error ? (error instanceof ApiError ? error.detail : error.message) : String(error);
  const fields = error instanceof ApiError ? error.fields : [];
  return h(
    "div",
    { class: "panel panel-error", attrs: { role: "alert" } },
    h("h2", "panel-title", icon("alert"), ` ${title}`),
    h("p", null, detail),
    fields.length > 0 &&
      h(
        "ul",
        "field-errors",
        fields.map((field) => h("li", null, h("code", null, field.location), `: ${field.message}`)),
      ),
    retry && h("button", { class: "button", attrs: { type: "button" }, on: { click: retry } }, "Try again"),
  );
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard !== undefined) {
    await navigator.clipboard.writeText(text);
    return;
  }
  throw new Error("clipboard unavailable");
}

/** A button that copies `text` and says so (visibly and to screen readers). */
export function copyButton(text: () => string, what: string): HTMLButtonElement {
  const label = h("span", null, "Copy");
  // The visible word starts the accessible name ("Copy npx snippet", then "Copied npx snippet").
  const button = h(
    "button",
    { class: "copy-button", attrs: { type: "button" } },
    icon("copy"),
    label,
    h("span", "visually-hidden", ` ${what}`),
  );
  button.addEventListener("click", () => {
    copyText(text()).then(
      () => {
        label.textContent = "Copied";
        button.classList.add("copied");
        announce(`${what} copied to the clipboard`);
        window.setTimeout(() => {
          label.textContent = "Copy";
          button.classList.remove("copied");
        }, 2000);
      },
      () => announce(`Could not copy; select the ${what} and copy it by hand`),
    );
  });
  return button;
}

export function codeBlock(label: string, code: string, language: string): HTMLElement {
  return h(
    "figure",
    "code-block",
    h(
      "figcaption",
      null,
      h("span", "code-label", label),
      copyButton(() => code, `${label} snippet`),
    ),
    h("pre", { attrs: { tabindex: "0", "data-language": language } }, h("code", null, code)),
  );
}

export function externalLink(href: string, ...children: Child[]): HTMLAnchorElement {
  return h(
    "a",
    { attrs: { href, rel: "noopener noreferrer nofollow", target: "_blank" } },
    ...children,
    h("span", "visually-hidden", " (opens in a new tab)"),
  );
}

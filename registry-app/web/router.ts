// The page's own paths (the server answers each with the same HTML): /, /servers/{name}, /publish and the
// OIDC callback. State lives in the URL so that every view can be shared and reloaded.
import { CALLBACK_PATH } from "./auth";

export type Route =
  | { page: "home"; params: URLSearchParams }
  | { page: "server"; name: string; version: string | undefined }
  | { page: "publish" }
  | { page: "callback"; url: URL }
  | { page: "missing"; path: string };

export function routeOf(url: URL): Route {
  const path = url.pathname;
  if (path === "/") return { page: "home", params: url.searchParams };
  if (path === "/publish") return { page: "publish" };
  if (path === CALLBACK_PATH) return { page: "callback", url };
  if (path.startsWith("/servers/") && path.length > "/servers/".length) {
    try {
      const name = path.slice("/servers/".length).split("/").map(decodeURIComponent).join("/");
      return { page: "server", name, version: url.searchParams.get("version") ?? undefined };
    } catch {
      return { page: "missing", path };
    }
  }
  return { page: "missing", path };
}

/** /servers/com.example/weather: the name's slash kept readable, everything else encoded. */
export function serverPath(name: string, version?: string): string {
  const path = `/servers/${name.split("/").map(encodeURIComponent).join("/")}`;
  return version === undefined ? path : `${path}?version=${encodeURIComponent(version)}`;
}

function isPagePath(path: string): boolean {
  return path === "/" || path === "/publish" || path.startsWith("/servers/");
}

export class Router {
  constructor(private readonly onChange: (initial: boolean) => void) {}

  start(): void {
    window.addEventListener("popstate", () => this.onChange(false));
    // Same-origin links to the page's own paths change the view without a reload (the token stays).
    document.addEventListener("click", (event) => {
      if (
        event.defaultPrevented ||
        event.button !== 0 ||
        event.metaKey ||
        event.ctrlKey ||
        event.shiftKey ||
        event.altKey
      )
        return;
      const link = (event.target as Element | null)?.closest("a");
      if (link === null || link === undefined || link.target !== "" || link.hasAttribute("download")) return;
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin || !isPagePath(url.pathname)) return;
      // In-page anchors (the skip link) stay with the browser, which moves focus to their target.
      if (url.hash !== "" && url.pathname === location.pathname && url.search === location.search) return;
      event.preventDefault();
      this.go(url.pathname + url.search + url.hash);
    });
    this.onChange(true);
  }

  go(path: string, options: { replace?: boolean } = {}): void {
    if (options.replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    this.onChange(false);
  }

  /** Changes the URL without a new view (typing in the search box). */
  replaceQuiet(path: string): void {
    history.replaceState(null, "", path);
  }
}

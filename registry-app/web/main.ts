// The catalogue page: reads the registry's settings, signs in when reads are private, and renders the view
// of the current URL into the server-rendered shell.
import { Api, ApiError } from "./api";
import { OidcSession } from "./auth";
import { errorPanel } from "./components";
import { readSettings } from "./config";
import { showServer } from "./detail";
import { h, icon, mount } from "./dom";
import { renderPublish } from "./publish";
import { routeOf, Router, type Route } from "./router";
import { SearchView } from "./search";

const settings = readSettings(document);
const session = new OidcSession(settings);
const api = new Api(() => session.token);
const main = document.getElementById("main") as HTMLElement;
const header = document.getElementById("site-header") as HTMLElement;
const footer = document.getElementById("site-footer") as HTMLElement;
let search: SearchView | undefined;
let signInError: unknown;
let lastPage: Route["page"] | undefined;

const router = new Router((initial) => void render(initial));

function navLink(href: string, label: string, route: Route): HTMLElement {
  const current =
    (href === "/" && (route.page === "home" || route.page === "server")) ||
    (href === "/publish" && route.page === "publish");
  return h("li", null, h("a", { attrs: { href, "aria-current": current ? "page" : undefined } }, label));
}

function renderChrome(route: Route): void {
  const user = session.user;
  mount(
    header,
    h(
      "div",
      "bar",
      h(
        "a",
        { class: "brand", attrs: { href: "/" } },
        h("span", "brand-mark", "M"),
        h("span", "brand-name", "MCP Registry"),
      ),
      h(
        "nav",
        { attrs: { "aria-label": "Main" } },
        h(
          "ul",
          "nav-links",
          navLink("/", "Servers", route),
          navLink("/publish", "Publish", route),
          h("li", null, h("a", { attrs: { href: "/docs" } }, "API")),
        ),
      ),
      session.required &&
        h(
          "div",
          "account",
          user !== undefined
            ? [
                h("span", "user", user),
                h(
                  "button",
                  {
                    class: "button button-link",
                    attrs: { type: "button" },
                    on: { click: () => (session.signOut(), void render(false)) },
                  },
                  "Sign out",
                ),
              ]
            : false,
        ),
    ),
  );
  mount(
    footer,
    h(
      "p",
      null,
      `Private MCP registry${settings.version ? ` ${settings.version}` : ""} · `,
      h("a", { attrs: { href: "/v0.1/servers" } }, "API"),
      " · ",
      h("a", { attrs: { href: "/docs" } }, "API documentation"),
    ),
    h("div", { class: "visually-hidden", attrs: { id: "announcer", "aria-live": "polite", role: "status" } }),
  );
}

/** A 401 while signed in means the token expired or was refused: sign in again. */
function handleUnauthorized(error: unknown): boolean {
  if (!(session.required && error instanceof ApiError && error.status === 401)) return false;
  session.signOut();
  signInError = error;
  void render(false);
  return true;
}

function renderSignIn(): void {
  const returnTo = location.pathname + location.search;
  const button = h(
    "button",
    {
      class: "button button-primary",
      attrs: { type: "button" },
      on: {
        click: () => {
          button.disabled = true;
          session.signIn(returnTo).catch((error: unknown) => {
            button.disabled = false;
            signInError = error;
            renderSignIn();
          });
        },
      },
    },
    icon("lock"),
    " Sign in",
  );
  mount(
    main,
    h(
      "section",
      "panel sign-in",
      h("h1", null, "Sign in to see the catalogue"),
      h(
        "p",
        null,
        "This registry is private. Sign in with your organisation's account to browse its servers.",
      ),
      button,
      signInError !== undefined && errorPanel(signInError),
    ),
  );
  document.title = "Sign in · MCP Registry";
}

async function render(initial: boolean): Promise<void> {
  const route = routeOf(new URL(location.href));
  if (route.page !== "home") {
    search?.dispose();
    search = undefined;
  }
  if (route.page === "callback") {
    try {
      const returnTo = await session.completeSignIn(route.url);
      signInError = undefined;
      history.replaceState(null, "", returnTo);
    } catch (error) {
      signInError = error;
      history.replaceState(null, "", "/");
    }
    return render(true);
  }
  renderChrome(route);
  if (session.required && session.token === undefined) {
    // A signed-out user sees nothing of the catalogue, not even publish help.
    search?.dispose();
    search = undefined;
    lastPage = undefined;
    renderSignIn();
    return;
  }
  signInError = undefined;
  let title = "MCP Registry";
  switch (route.page) {
    case "home":
      if (search === undefined) {
        search = new SearchView(api, router, handleUnauthorized, settings.categories);
        search.mount(main, route.params);
      } else search.show(route.params);
      title = route.params.get("q") ? `“${route.params.get("q")}” · MCP Registry` : "MCP Registry";
      break;
    case "server":
      document.title = `${route.name} · MCP Registry`;
      title = `${await showServer(api, main, route.name, route.version, handleUnauthorized)} · MCP Registry`;
      break;
    case "publish":
      mount(main, renderPublish(settings, location.origin));
      title = "Publish · MCP Registry";
      break;
    case "missing":
      mount(
        main,
        errorPanel(new ApiError(404, "Page not found", `There is no page at ${route.path}.`)),
        h("p", null, h("a", { attrs: { href: "/" } }, "Back to all servers")),
      );
      title = "Not found · MCP Registry";
      break;
  }
  document.title = title;
  const newPage = route.page !== lastPage || route.page === "server";
  lastPage = route.page;
  // After a navigation to another page, focus moves to the new content so screen readers start there.
  if (!initial && newPage) {
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

router.start();

import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ProblemError } from "../errors";
import { encode, loadCatalogueAssets, type Asset, type CatalogueAssets, type Encoded } from "./assets";
import { pageHtml, securityHeaders, type CatalogueSettings } from "./page";

/** Paths the page itself routes (history API); each answers with the same HTML. */
export const CATALOGUE_PAGES = ["/", "/publish", "/oauth/callback", "/servers/*"] as const;

export interface CatalogueOptions {
  settings: CatalogueSettings;
  /** Where the files come from; the prebuilt folder or an in-memory build by default. */
  loadAssets?: () => Promise<CatalogueAssets>;
}

type Encoding = "br" | "gzip" | "identity";

/** The best encoding the client accepts (`q=0` refuses one). */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [token = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (token !== "") accepted.set(token, q === undefined ? 1 : Number(q));
  }
  const wildcard = accepted.get("*");
  const weight = (name: string) => accepted.get(name) ?? wildcard ?? 0;
  if (weight("br") > 0) return "br";
  if (weight("gzip") > 0) return "gzip";
  return "identity";
}

function sendEncoded(request: FastifyRequest, reply: FastifyReply, body: Encoded): FastifyReply {
  const encoding = negotiateEncoding(request.headers["accept-encoding"]);
  void reply.header("vary", "accept-encoding");
  if (encoding === "identity") return reply.send(body.identity);
  return reply.header("content-encoding", encoding).send(encoding === "br" ? body.brotli : body.gzip);
}

function unavailable(error: unknown): ProblemError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ProblemError(503, "Service Unavailable", `The web catalogue could not be loaded: ${reason}.`);
}

/**
 * The web catalogue: its pages at /, /servers/{name}, /publish and /oauth/callback, and its
 * content-hashed files under /assets/. The API routes are untouched; the page only calls them.
 */
export function registerCatalogue(app: FastifyInstance, options: CatalogueOptions): void {
  const headers = securityHeaders(options.settings);
  let loaded: Promise<{ assets: CatalogueAssets; page: Encoded & { etag: string } }> | undefined;
  const load = () => {
    loaded ??= (options.loadAssets ?? loadCatalogueAssets)().then((assets) => {
      const html = Buffer.from(pageHtml(options.settings, assets));
      const etag = `"${createHash("sha256").update(html).digest("base64url").slice(0, 27)}"`;
      return { assets, page: { ...encode(html), etag } };
    });
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };

  const sendPage = async (request: FastifyRequest, reply: FastifyReply) => {
    const { page } = await load().catch((error: unknown) => {
      throw unavailable(error);
    });
    void reply.headers(headers).header("cache-control", "no-cache").header("etag", page.etag);
    if (request.headers["if-none-match"] === page.etag) return reply.code(304).send();
    void reply.type("text/html; charset=utf-8");
    return sendEncoded(request, reply, page);
  };
  for (const path of CATALOGUE_PAGES) app.get(path, sendPage);

  app.get<{ Params: { file: string } }>("/assets/:file", async (request, reply) => {
    const { assets } = await load().catch((error: unknown) => {
      throw unavailable(error);
    });
    const file: Asset | undefined = assets.byName.get(request.params.file);
    if (file === undefined) {
      void reply.header("cache-control", "no-store");
      throw new ProblemError(
        404,
        "Not Found",
        `No catalogue file ${request.params.file}; file names change with their content, reload the page.`,
      );
    }
    // A content-hashed name never changes its bytes: browsers and proxies may keep it for a year.
    void reply
      .headers(headers)
      .header("cache-control", "public, max-age=31536000, immutable")
      .type(file.contentType);
    return sendEncoded(request, reply, file);
  });
}

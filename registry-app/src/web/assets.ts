import { createHash } from "node:crypto";
import path from "node:path";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import {
  buildBundle,
  defaultWebSourceDir,
  readBundle,
  type BundleFileName,
  type BundleFiles,
} from "./bundle";

/** A response body in each encoding the catalogue serves. */
export interface Encoded {
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly brotli: Buffer;
}

/** Compressed once at load with the strongest settings: the files are small and never change. */
export function encode(bytes: Buffer): Encoded {
  return {
    identity: bytes,
    gzip: gzipSync(bytes, { level: 9 }),
    brotli: brotliCompressSync(bytes, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
  };
}

/** One file of the catalogue as served: named by its content hash, stored precompressed. */
export interface Asset extends Encoded {
  /** `/assets/app.3f9c1e0a2b4d6f81.js`: a new name for new content, so it can be cached for good. */
  readonly url: string;
  readonly contentType: string;
}

export interface CatalogueAssets {
  readonly script: Asset;
  readonly style: Asset;
  readonly icon: Asset;
  /** By file name under /assets/. */
  readonly byName: ReadonlyMap<string, Asset>;
}

const CONTENT_TYPES: Record<BundleFileName, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

function asset(name: BundleFileName, bytes: Buffer): Asset {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const extension = path.extname(name);
  return {
    url: `/assets/${path.basename(name, extension)}.${hash}${extension}`,
    contentType: CONTENT_TYPES[name],
    ...encode(bytes),
  };
}

export function catalogueAssets(files: BundleFiles): CatalogueAssets {
  const script = asset("app.js", files["app.js"]);
  const style = asset("app.css", files["app.css"]);
  const icon = asset("favicon.svg", files["favicon.svg"]);
  const byName = new Map([script, style, icon].map((entry) => [entry.url.slice("/assets/".length), entry]));
  return { script, style, icon, byName };
}

let inMemory: Promise<BundleFiles> | undefined;

/**
 * The image's prebuilt files (dist/src/web/assets), or, in a checkout, a build of web/ made once per
 * process on first use.
 */
export function loadCatalogueAssets(prebuiltDir = path.join(__dirname, "assets")): Promise<CatalogueAssets> {
  const prebuilt = readBundle(prebuiltDir);
  if (prebuilt !== undefined) return Promise.resolve(catalogueAssets(prebuilt));
  inMemory ??= buildBundle(defaultWebSourceDir()).catch((error: unknown) => {
    inMemory = undefined;
    throw error;
  });
  return inMemory.then(catalogueAssets);
}

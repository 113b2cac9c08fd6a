// The catalogue's browser files: web/main.ts and web/styles.css bundled and minified by esbuild-wasm, plus
// the favicon. The image builds them once (`node dist/src/web/bundle.js dist/src/web/assets` in the
// Dockerfile); a checkout without that folder builds them in memory on first use (esbuild-wasm is a
// development dependency, absent from the image).
import fs from "node:fs";
import path from "node:path";

/** Names of the built files, the same in the image's folder and in memory. */
export const BUNDLE_FILES = ["app.js", "app.css", "favicon.svg"] as const;
export type BundleFileName = (typeof BUNDLE_FILES)[number];

export type BundleFiles = Record<BundleFileName, Buffer>;

/** Browsers the bundle is compiled for: the last two years of evergreen browsers. */
const TARGETS = ["chrome120", "firefox120", "safari17", "edge120"];

interface EsbuildOutputFile {
  path: string;
  contents: Uint8Array;
}
interface EsbuildResult {
  outputFiles?: EsbuildOutputFile[];
  errors: unknown[];
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<EsbuildResult>;
  stop?(): void | Promise<void>;
}

async function loadEsbuild(): Promise<Esbuild> {
  try {
    return (await import("esbuild-wasm")) as unknown as Esbuild;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new Error(
        "the web catalogue is not built (no assets folder beside src/web) and esbuild-wasm, the development " +
          "dependency that builds it, is not installed: run `npm ci` in the repository, or build the image",
        { cause: error },
      );
    }
    throw error;
  }
}

/** The client sources: registry-app/web, two levels above src/web (and dist/src/web). */
export function defaultWebSourceDir(): string {
  const fromSrc = path.resolve(__dirname, "../../web");
  if (fs.existsSync(path.join(fromSrc, "main.ts"))) return fromSrc;
  return path.resolve(__dirname, "../../../web");
}

/** Bundles the client from `sourceDir` (main.ts, styles.css, favicon.svg) without writing anything. */
export async function buildBundle(sourceDir: string): Promise<BundleFiles> {
  const esbuild = await loadEsbuild();
  const result = await esbuild.build({
    absWorkingDir: sourceDir,
    entryPoints: { app: path.join(sourceDir, "main.ts"), "app-style": path.join(sourceDir, "styles.css") },
    bundle: true,
    minify: true,
    format: "iife",
    target: TARGETS,
    outdir: "out",
    write: false,
    legalComments: "none",
    charset: "utf8",
    logLevel: "silent",
  });
  await esbuild.stop?.();
  const byName = new Map(
    (result.outputFiles ?? []).map((file) => [path.basename(file.path), Buffer.from(file.contents)]),
  );
  const script = byName.get("app.js");
  const style = byName.get("app-style.css");
  if (script === undefined || style === undefined) {
    throw new Error(
      `esbuild produced ${[...byName.keys()].join(", ") || "nothing"}, not app.js and app-style.css`,
    );
  }
  return {
    "app.js": script,
    "app.css": style,
    "favicon.svg": fs.readFileSync(path.join(sourceDir, "favicon.svg")),
  };
}

/** Writes a bundle into `outDir` (the image's build step). */
export function writeBundle(files: BundleFiles, outDir: string): void {
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of BUNDLE_FILES) fs.writeFileSync(path.join(outDir, name), files[name]);
}

/** Reads a prebuilt bundle; undefined when the folder does not exist (a checkout). */
export function readBundle(dir: string): BundleFiles | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const read = (name: BundleFileName) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`the web catalogue's ${file} is missing: rebuild the image`);
    return fs.readFileSync(file);
  };
  return { "app.js": read("app.js"), "app.css": read("app.css"), "favicon.svg": read("favicon.svg") };
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    process.stderr.write("usage: node dist/src/web/bundle.js <output folder>\n");
    process.exit(2);
  }
  buildBundle(defaultWebSourceDir())
    .then((files) => {
      writeBundle(files, path.resolve(outDir));
      for (const name of BUNDLE_FILES) process.stdout.write(`${name}\t${files[name].length} bytes\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}

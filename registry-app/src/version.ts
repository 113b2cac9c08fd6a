import fs from "node:fs";
import path from "node:path";

/** The app's package.json version, found by walking up from this file (works from src/ and dist/src/). */
function readPackageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "package.json");
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "registry-app" && typeof pkg.version === "string") return pkg.version;
    }
    if (path.dirname(dir) === dir) return "0.0.0";
  }
}

export const packageVersion = readPackageVersion();

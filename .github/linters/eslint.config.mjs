// One lint configuration for the three packages; run from the repository root with
// `eslint -c .github/linters/eslint.config.mjs` (the top level of the repo stays fixed).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/bin/**", "**/dist/**", "**/.data/**", "**/*.js", "**/*.mjs"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "ExportDefaultDeclaration",
          message: "Use named exports (house rule: no default exports).",
        },
      ],
      eqeqeq: ["error", "smart"],
    },
  },
  {
    files: [
      "test/**/*.ts",
      "registry-app/test/**/*.ts",
      "registry-app/bench/**/*.ts",
      "policies/test/**/*.ts",
    ],
    rules: {
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
);

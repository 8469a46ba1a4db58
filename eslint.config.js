// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // .cache/: tools the ci-deps.sh scripts install (a Python venv ships JavaScript assets).
  { ignores: ["**/dist/**", "**/node_modules/**", "eslint.config.js", "test-artifacts/**", ".cache/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Sources through each package's tsconfig, tests and configs through tsconfig.tests.json.
        project: ["./packages/*/tsconfig.json", "./scripts/tsconfig.json", "./packages/protocol/bench/tsconfig.json", "./services/*/tsconfig.json", "./services/web/tsconfig.node.json", "./tsconfig.tests.json", "./loadtest/tsconfig.json", "./loadtest/k6/tsconfig.json", "./deploy/stack/tsconfig.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An unawaited promise in a chat server is a lost message or an unhandled rejection.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);

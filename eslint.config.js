import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/build/**", "**/dist/**", "**/.tsbuildinfo/**", ".lightfield-demo/**", "apps/demo/.bundle-*/**", "bench/scratch*/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "require-yield": "off",
      "no-console": "error"
    }
  },
  {
    // Library code imports these packages' modules by path: their index modules load every module
    // (servers, clusters, the HTTP API docs pages), tens of MB in a process run with plain node.
    files: ["packages/*/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: ["@effect/platform", "@effect/platform-node", "@effect/sql", "@effect/sql-pg", "@effect/sql-sqlite-node", "@effect/experimental"]
          .map((name) => ({ name, message: `import ${name}/<Module> instead (the index module loads every module)` }))
      }]
    }
  },
  {
    files: ["apps/**/*.ts", "bench/**/*.ts", "reliability/**/*.ts", "fleet/**/*.ts", "scripts/**", "packages/sandbox/src/bin.ts"],
    rules: { "no-console": "off" }
  },
  {
    // Plain-node scripts (no TypeScript, so no type-aware globals).
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } }
  }
)

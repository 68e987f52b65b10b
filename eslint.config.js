// Lint rules, including the architecture's layering (CONVENTIONS.md §1): imports point down only,
// ui → workers (API types) → train → shadow → model → engine.
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message })) }],
  },
});
const above = (names) => names.flatMap((n) => [`**/${n}/**`, `**/${n}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'e2e/artifacts/**', 'tools/fixtures/out/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node, ...globals.worker } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/ui/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  layer(['src/engine/**'], [...above(['model', 'shadow', 'train', 'ui', 'cli', 'workers']), 'react', 'comlink', 'zustand'], 'src/engine imports nothing of ours (CONVENTIONS.md §1).'),
  layer(['src/model/**'], above(['shadow', 'train', 'ui', 'cli', 'workers']), 'src/model may import only src/engine (CONVENTIONS.md §1).'),
  layer(['src/shadow/**'], above(['train', 'ui', 'cli', 'workers']), 'src/shadow may import only src/model and src/engine (CONVENTIONS.md §1).'),
  layer(['src/train/**'], above(['ui', 'cli', 'workers']), 'src/train may not import the UI, the CLI or the worker (CONVENTIONS.md §1).'),
  layer(['workers/**'], above(['ui', 'cli']), 'the worker may not import the UI or the CLI (CONVENTIONS.md §1).'),
  layer(['src/ui/**'], [...above(['cli']), 'comlink'], 'the UI talks to the worker only through src/ui/worker/client.ts (CONVENTIONS.md §7).'),
  // The one place in the UI that knows comlink.
  { files: ['src/ui/worker/client.ts'], rules: { 'no-restricted-imports': 'off' } },
);

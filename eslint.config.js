// ESLint flat config: typescript-eslint's recommended, type-aware rules for the whole project, the web
// console included (typescript-eslint's project service finds web/tsconfig.json for web/src).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'native/**', 'bpf/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The config files are in no tsconfig: the project service gives them a default project.
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'web/vite.config.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The browser bundle takes the contract's types only: a value import would pull zod into the UI.
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@contract', message: 'import the contract type-only (import type { … } from "@contract").', allowTypeImports: true }],
          patterns: [{ group: ['**/src/contract/*', '**/src/diagnose/*', '**/src/report/i18n/*'], message: 'web/ imports the contract as @contract (types only) and formats as @format.' }],
        },
      ],
    },
  },
);

// @ts-check
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.venv/**',
      'packages/core/test/fixtures/**',
      'examples/demo/**',
      'bench/**',
      '.dependency-cruiser.cjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: './tsconfig.lint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Plugin modules are plain JavaScript objects: checks for "unnecessary" conditions on them are the validation.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    files: ['packages/mldeploy/bin/*.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    files: ['packages/dashboard/scripts/*.mjs'],
    languageOptions: { globals: { console: 'readonly', URL: 'readonly' } },
  },
  {
    // The dashboard's browser code is typed against the DOM and Preact's JSX, in its own project.
    files: ['packages/dashboard/ui/**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: { project: './packages/dashboard/ui/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // @kubernetes/client-node declares its API objects as classes, but they are plain JSON data:
    // its own API takes object literals (a V1Deployment is never constructed), and spreading one keeps all of it.
    files: ['packages/target-kubernetes/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);

// Lint rules that make the legacy defects impossible: no eval or implied eval, no new Function, no empty catch,
// no console in the nodes (they log through Node-RED), no floating promises in TypeScript.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const security = {
  'no-eval': 'error',
  'no-implied-eval': 'error',
  'no-new-func': 'error',
  'no-empty': ['error', { allowEmptyCatch: false }],
  'no-restricted-imports': ['error', { paths: [{ name: 'vm', message: 'never run code from data' }, { name: 'node:vm', message: 'never run code from data' }] }],
  'no-restricted-syntax': [
    'error',
    { selector: "CatchClause[param=null] > BlockStatement[body.length=0]", message: 'empty catch' },
    { selector: "CallExpression[callee.name='require'][arguments.0.value=/^(node:)?vm$/]", message: 'never run code from data (vm)' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.userdir/**', '.ci/.node22/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node, ...globals.mocha }, sourceType: 'commonjs' },
    rules: { ...security, 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  // the plant wizard's page loads its modules as ES modules in the browser (resources/plant/*.js)
  { files: ['resources/plant/**/*.js'], languageOptions: { sourceType: 'module', globals: { ...globals.browser } } },
  {
    files: ['nodes/**/*.html'],
    ignores: ['**'],
  },
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      ...security,
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },
  { files: ['nodes/**/*.ts'], rules: { 'no-console': 'error' } },
);

// Lint for every project: TypeScript rules plus Nx module boundaries, which keep the arrows pointing
// down (plugins and sources import only @ferry/core; only the runner and tools know every plugin).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.cjs', '**/*.mjs', 'tools/generators/files/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'type:source', onlyDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'type:destination', onlyDependOnLibsWithTags: ['scope:core', 'type:testkit'] },
            { sourceTag: 'type:engine', onlyDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'type:store', onlyDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'type:testkit', onlyDependOnLibsWithTags: ['scope:core', 'type:source'] },
            // The console runs in the browser and talks to the runner over HTTP only: it imports nothing of ours.
            { sourceTag: 'type:console', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:testkit', 'scope:core'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['*'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
    },
  },
];

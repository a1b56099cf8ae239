// Lint for every project: TypeScript rules plus Nx module boundaries, which keep the arrows pointing
// down (plugins and sources import only @ferry/core; only the runner and tools know every plugin).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * Which projects each kind may import. `tests` adds what the tests of a library may use besides: the store's
 * tests run the store contract, the engine's run on the in-memory store from the testkit, a source's run the
 * source contract suite.
 */
function moduleBoundaries({ tests }) {
  const forTests = (tags) => (tests ? tags : []);
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: [
        { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
        { sourceTag: 'type:source', onlyDependOnLibsWithTags: ['scope:core', ...forTests(['type:testkit'])] },
        { sourceTag: 'type:destination', onlyDependOnLibsWithTags: ['scope:core', 'type:testkit'] },
        { sourceTag: 'type:engine', onlyDependOnLibsWithTags: ['scope:core', ...forTests(['type:testkit'])] },
        { sourceTag: 'type:store', onlyDependOnLibsWithTags: ['scope:core', ...forTests(['type:store-contract'])] },
        { sourceTag: 'type:testkit', onlyDependOnLibsWithTags: ['scope:core', 'type:source'] },
        // Test support for stores: the contract composes a store's backends with the engine's policies, as the runner does.
        { sourceTag: 'type:store-contract', onlyDependOnLibsWithTags: ['scope:core', 'type:engine', 'type:testkit'] },
        // The console runs in the browser and talks to the runner over HTTP only: it imports nothing of ours.
        { sourceTag: 'type:console', onlyDependOnLibsWithTags: [] },
        { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:testkit', 'scope:core'] },
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['*'] },
        { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['*'] },
      ],
    },
  ];
}

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.cjs', '**/*.mjs', 'tools/generators/files/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': moduleBoundaries({ tests: false }),
    },
  },
  {
    // Tests and their helpers; what ships (each library's build) keeps the stricter rules above.
    files: ['**/*.spec.ts', '**/src/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries({ tests: true }) },
  },
];

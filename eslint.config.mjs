// Lint rules for the whole workspace (ESLint flat config).
// Two things matter beyond style:
//  1. Package layering (DESIGN.md), via Nx tags and @nx/enforce-module-boundaries:
//     apps -> runtime (node, exchange, agents, sim, viz) -> protocols -> core (crypto, consensus, matching-engine).
//  2. Purity: packages tagged "scope:pure" never read clocks, randomness, timers or do I/O.
import nx from '@nx/eslint-plugin';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const LAYERS = [
  { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: ['type:core', 'type:protocol', 'type:runtime'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:protocol', 'type:runtime'] },
  { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:core', 'type:protocol', 'type:runtime'] },
  // A pure package may only build on pure packages.
  { sourceTag: 'scope:pure', onlyDependOnLibsWithTags: ['scope:pure'] },
];

/** Source globs of every workspace package tagged scope:pure (read from package.json "nx.tags"). */
function pureSourceGlobs() {
  const globs = [];
  for (const dir of ['packages', 'apps']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const pkgPath = join(dir, name, 'package.json');
      if (!existsSync(pkgPath)) continue;
      const tags = JSON.parse(readFileSync(pkgPath, 'utf8')).nx?.tags ?? [];
      if (tags.includes('scope:pure')) globs.push(`${dir}/${name}/src/**/*.ts`);
    }
  }
  return globs;
}

const IMPURE_GLOBALS = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'process', 'performance', 'fetch', 'XMLHttpRequest', 'WebSocket', 'require', 'crypto', 'Buffer'];
const NODE_BUILTINS = ['assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'diagnostics_channel', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2', 'https', 'inspector', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'repl', 'stream', 'timers', 'timers/promises', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib'];
const why = 'pure packages take time, randomness and I/O as inputs (DESIGN.md)';

const pureRules = {
  'no-restricted-globals': ['error', ...IMPURE_GLOBALS.map((name) => ({ name, message: `"${name}" is not allowed here: ${why}.` }))],
  'no-restricted-syntax': [
    'error',
    { selector: "MemberExpression[object.name='Date'][property.name='now']", message: `Date.now() reads the clock: ${why}.` },
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the clock: ${why}.` },
    { selector: "CallExpression[callee.name='Date']", message: `Date() reads the clock: ${why}.` },
    { selector: "MemberExpression[object.name='Math'][property.name='random']", message: `Math.random() is unseeded randomness: ${why}.` },
    {
      selector: `MemberExpression[object.name=/^(globalThis|window|self|global)$/][property.name=/^(${IMPURE_GLOBALS.join('|')})$/]`,
      message: `Reaching a clock, timer, randomness or I/O through the global object is not allowed: ${why}.`,
    },
  ],
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      // Bare names are exact paths: as gitignore-style patterns, "crypto" would also match "@bftx/crypto".
      paths: NODE_BUILTINS.map((name) => ({ name, message: `Node built-in modules are I/O: ${why}.`, allowTypeImports: true })),
      patterns: [{ group: ['node:*'], message: `Node built-in modules are I/O: ${why}.`, allowTypeImports: true }],
    },
  ],
};

export default [
  // docs/attacks: outside reviewers' scripts kept as evidence of open findings, not project code.
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/out/**', '.nx/**', 'docs/attacks/**', '**/.device/**', '.readme-examples/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: LAYERS }],
      '@typescript-eslint/no-explicit-any': 'off',
      // With noUncheckedIndexedAccess, `!` marks an index the code has just bounds-checked.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // Config files load the shared preset by path; they are not part of any package's code.
  { files: ['**/jest.config.{cjs,js,ts}', '**/tsup.config.ts', 'eslint.config.mjs'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  // Smoke scripts run against the packed package as a user would: by its own name.
  { files: ['packages/*/test/packed/**'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  { files: pureSourceGlobs(), rules: pureRules },
  // @bftx/client runs in browsers too: nothing Node-only (a test bundles it for the browser).
  { files: ['packages/client/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: '@bftx/client runs in browsers: no Node-only imports' }] }] } },

  {
    // @bftx/crypto's two sanctioned exceptions: the optional node:crypto backend,
    // and key generation, which is the one place that needs entropy.
    files: ['packages/crypto/src/signature/node.ts', 'packages/crypto/src/signature/keys.ts'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-syntax': 'off' },
  },
];

#!/usr/bin/env node
// Creates packages/<name> wired like every other @bftx package: build (tsup,
// ESM + CJS + .d.ts), typecheck, test (jest preset, fast-check), bench, lint
// tags, README and LICENSE. Usage:
//   npm run new-package -- <name> --type core|protocol|runtime --scope pure|io [--description "..."]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The files of a new package, as { relativePath: contents }.
 * @param {{ name: string, type: string, scope: string, description?: string }} options
 * @returns {Record<string, string>}
 */
export function renderPackage({ name, type, scope, description }) {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`package name "${name}" must be lowercase letters, digits and dashes`);
  if (!['core', 'protocol', 'runtime'].includes(type)) throw new Error(`--type must be core, protocol or runtime (got ${type})`);
  if (!['pure', 'io'].includes(scope)) throw new Error(`--scope must be pure or io (got ${scope})`);
  const desc = description ?? `The ${name} package of bftx, a toolkit for Byzantine-fault-tolerant trading.`;
  const pkg = {
    name: `@bftx/${name}`,
    version: '0.1.0',
    description: desc,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': {
        '@bftx/source': './src/index.ts',
        import: { types: './dist/index.d.ts', default: './dist/index.js' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md', 'LICENSE'],
    engines: { node: '>=20.16' },
    scripts: { build: 'tsup', typecheck: 'tsc -p tsconfig.json', test: 'jest', bench: `node --conditions=@bftx/source --import tsx bench/${name}.bench.ts` },
    dependencies: {},
    nx: { name, tags: [`type:${type}`, `scope:${scope}`] },
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'tsconfig.json': JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test', 'bench', '../../tools/jest/globals.d.ts'] }, null, 2) + '\n',
    'jest.config.cjs': `module.exports = { ...require('../../jest.preset.cjs'), displayName: '${name}', rootDir: __dirname };\n`,
    'tsup.config.ts': `import { library } from '../../tools/tsup.library.mjs';\n\nexport default library();\n`,
    'src/index.ts': `// @bftx/${name}: ${desc}\nexport {};\n`,
    'test/index.test.ts': `import * as api from '../src/index';\n\ntest('the public API loads', () => {\n  expect(typeof api).toBe('object');\n});\n`,
    [`bench/${name}.bench.ts`]: `// npx nx run ${name}:bench: prints figures; the last line is one JSON object.\nconsole.log(JSON.stringify({ bench: '${name}' }));\n`,
    'README.md': `# @bftx/${name}\n\n${desc}\n\n## Usage\n\n\`\`\`ts\nimport {} from '@bftx/${name}';\n\`\`\`\n\n## API\n\n(to be written with the package)\n`,
    LICENSE: readFileSync(join(root, 'LICENSE'), 'utf8'),
  };
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { type: { type: 'string' }, scope: { type: 'string' }, description: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    console.log('usage: npm run new-package -- <name> --type core|protocol|runtime --scope pure|io [--description "..."]');
    process.exit(values.help ? 0 : 2);
  }
  const [name] = positionals;
  let files;
  try {
    files = renderPackage({ name, type: values.type, scope: values.scope, description: values.description });
  } catch (e) {
    console.error(`new-package: ${e.message}`);
    process.exit(2);
  }
  const dir = join(root, 'packages', name);
  if (existsSync(dir)) {
    console.error(`new-package: packages/${name} already exists`);
    process.exit(2);
  }
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  console.log(`created packages/${name}; next: npm install (links the workspace), then npx nx run ${name}:test`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

// What every publishable @bftx package must look like. Used by
// check-packages.mjs (on the real packages) and by new-package.mjs's test.

export const REQUIRED_FILES_FIELD = ['dist', 'README.md', 'LICENSE'];

/** Problems with a package.json of a publishable package (empty when fine). */
export function manifestProblems(pkg) {
  const p = [];
  const need = (cond, msg) => {
    if (!cond) p.push(msg);
  };
  need(typeof pkg.name === 'string' && /^@bftx\/[a-z][a-z0-9-]*$/.test(pkg.name), 'name must be @bftx/<lowercase-name>');
  need(typeof pkg.version === 'string' && /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(pkg.version), 'version must be semver');
  need(pkg.license === 'MIT', 'license must be "MIT"');
  need(typeof pkg.description === 'string' && pkg.description.length >= 20, 'description must say what the package is');
  need(pkg.private !== true, 'a publishable package must not be private');
  need(pkg.type === 'module', 'type must be "module" (ESM first, CJS via exports.require)');
  need(JSON.stringify(pkg.files) === JSON.stringify(REQUIRED_FILES_FIELD), `files must be exactly ${JSON.stringify(REQUIRED_FILES_FIELD)}`);
  const root = pkg.exports?.['.'];
  need(root && typeof root === 'object', 'exports["."] must be an object');
  if (root && typeof root === 'object') {
    need(root['@bftx/source'] === './src/index.ts', 'exports["."]["@bftx/source"] must be "./src/index.ts" (sources in tests, no build needed)');
    need(root.import?.types === './dist/index.d.ts' && root.import?.default === './dist/index.js', 'exports["."].import must be { types: ./dist/index.d.ts, default: ./dist/index.js }');
    need(root.require?.types === './dist/index.d.cts' && root.require?.default === './dist/index.cjs', 'exports["."].require must be { types: ./dist/index.d.cts, default: ./dist/index.cjs }');
  }
  // Extra subpaths (e.g. "./testing") follow the same shape as ".".
  for (const [sub, entry] of Object.entries(pkg.exports ?? {})) {
    if (sub === '.' || sub === './package.json') continue;
    const name = sub.replace(/^\.\//, '');
    need(/^[a-z][a-z0-9-]*$/.test(name), `exports["${sub}"]: subpath must be ./<lowercase-name>`);
    need(entry?.['@bftx/source'] === `./src/${name}/index.ts`, `exports["${sub}"]["@bftx/source"] must be "./src/${name}/index.ts"`);
    need(entry?.import?.types === `./dist/${name}.d.ts` && entry?.import?.default === `./dist/${name}.js`, `exports["${sub}"].import must point at ./dist/${name}.{d.ts,js}`);
    need(entry?.require?.types === `./dist/${name}.d.cts` && entry?.require?.default === `./dist/${name}.cjs`, `exports["${sub}"].require must point at ./dist/${name}.{d.cts,cjs}`);
  }
  for (const t of ['build', 'test', 'typecheck']) need(typeof pkg.scripts?.[t] === 'string', `scripts.${t} is required`);
  const tags = pkg.nx?.tags ?? [];
  need(tags.some((t) => /^type:(core|protocol|runtime)$/.test(t)), 'nx.tags needs one of type:core, type:protocol, type:runtime');
  need(tags.includes('scope:pure') || tags.includes('scope:io'), 'nx.tags needs scope:pure or scope:io');
  need(typeof pkg.nx?.name === 'string', 'nx.name (the short project name for `nx run <name>:test`) is required');
  return p;
}

/** Every file path that `exports` points at for users (not the source condition). */
export function exportedPaths(pkg) {
  const out = new Set();
  const walk = (v, key) => {
    if (key === '@bftx/source') return;
    if (typeof v === 'string') out.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(pkg.exports, '');
  return [...out];
}

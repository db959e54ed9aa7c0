// `npm run demo` until apps/demo exists (issue "Visualization, the demo app").
console.error('bftx: the demo app (apps/demo) does not exist yet. Today the workspace has @bftx/crypto;');
console.error('run `npm test` for the test suite, or `npx nx run crypto:bench` for the crypto benchmark.');
process.exit(1);

// Global fast-check settings for every package's tests.
//   BFTX_RUNS=N        cases per property (default: CI-sized, set per test)
//   BFTX_SEED, BFTX_PATH  replay one failing case (printed on failure)
const fc = require('fast-check');

const env = process.env;
const parsed = {};
if (env.BFTX_RUNS !== undefined) {
  const runs = Number(env.BFTX_RUNS);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`BFTX_RUNS must be a positive integer, got "${env.BFTX_RUNS}"`);
  parsed.numRuns = runs;
}
if (env.BFTX_SEED !== undefined) {
  const seed = Number(env.BFTX_SEED);
  if (!Number.isSafeInteger(seed)) throw new Error(`BFTX_SEED must be an integer, got "${env.BFTX_SEED}"`);
  parsed.seed = seed;
  if (env.BFTX_PATH !== undefined) parsed.path = env.BFTX_PATH;
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

fc.configureGlobal({
  ...parsed,
  // On failure, print fast-check's report plus one line that replays exactly this case.
  reporter(details) {
    if (!details.failed) return;
    const state = expect.getState();
    const testPath = state.testPath ? require('node:path').relative(process.cwd(), state.testPath) : '';
    const name = state.currentTestName ?? '';
    const pathPart = details.counterexamplePath ? ` BFTX_PATH=${shellQuote(details.counterexamplePath)}` : '';
    const replay = `BFTX_SEED=${details.seed}${pathPart} npx jest ${shellQuote(testPath)} -t ${shellQuote(name)}`;
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details)}\n\nFailure: ${cause}\n\nReplay this case (from ${process.cwd()}):\n  ${replay}\n`);
  },
});

// Properties pick their CI-sized default; BFTX_RUNS overrides all of them.
globalThis.bftxRuns = (ciDefault) => parsed.numRuns ?? ciDefault;

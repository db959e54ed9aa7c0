// Runs against the packed, installed @bftx/matching-engine (tools/check-packages.mjs), loaded with require.
require('./smoke-checks.cjs')(require('@bftx/matching-engine'));

// Runs against the packed, installed @bftx/crypto (tools/check-packages.mjs), loaded with require.
require('./smoke-checks.cjs')(require('@bftx/crypto'));

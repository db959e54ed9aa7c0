// Runs against the packed, installed @bftx/matching-engine (tools/check-packages.mjs), loaded with import.
import * as engine from '@bftx/matching-engine';
import smokeChecks from './smoke-checks.cjs';

smokeChecks(engine);

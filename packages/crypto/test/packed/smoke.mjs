// Runs against the packed, installed @bftx/crypto (tools/check-packages.mjs), loaded with import.
import * as crypto from '@bftx/crypto';
import smokeChecks from './smoke-checks.cjs';

smokeChecks(crypto);

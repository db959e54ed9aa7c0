import { conformanceSuite, DELTA } from '@bftx/conformance';
import { hotstuff } from '../src/index';

conformanceSuite(hotstuff());
// As the real replica runs it: leaders with nothing to order wait a delta before an empty block.
// (Fewer runs: the rules it changes are liveness timing, which every property here still checks.)
conformanceSuite(hotstuff({ idleViewMs: DELTA }), { safety: 50, liveness: 40, evidence: 20, twins: 500, classes: 10, forensics: 10 });

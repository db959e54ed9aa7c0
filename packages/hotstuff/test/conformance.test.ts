import { conformanceSuite, DELTA } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { hotstuff } from '../src/index';

conformanceSuite(hotstuff(), sim);
// As the real replica runs it: leaders with nothing to order wait a delta before an empty block.
// (Fewer runs: the rules it changes are liveness timing, which every property here still checks.)
conformanceSuite(hotstuff({ idleViewMs: DELTA }), sim, { safety: 50, liveness: 40, evidence: 20, twins: 500 });

import { conformanceSuite } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { hotstuff } from '../src/index';

conformanceSuite(hotstuff(), sim);

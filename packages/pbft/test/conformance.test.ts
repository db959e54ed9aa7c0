import { conformanceSuite } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { pbft } from '../src/index';

conformanceSuite(pbft(), sim);

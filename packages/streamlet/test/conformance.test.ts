import { conformanceSuite } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { streamlet } from '../src/index';

conformanceSuite(streamlet(), sim);

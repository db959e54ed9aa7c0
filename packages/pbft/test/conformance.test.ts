import { conformanceSuite } from '@bftx/conformance';
import { pbft } from '../src/index';

conformanceSuite(pbft());

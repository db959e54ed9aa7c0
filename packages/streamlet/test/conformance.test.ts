import { conformanceSuite } from '@bftx/conformance';
import { streamlet } from '../src/index';

conformanceSuite(streamlet());

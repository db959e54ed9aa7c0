import { fairOrderingSuite } from '@bftx/conformance';
import { hotstuff } from '../src/index';

// Replica 1 leads view 1 (round-robin): it deviates from its first proposal on.
fairOrderingSuite(hotstuff(), { byzantine: 1 });

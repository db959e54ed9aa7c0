import { fairOrderingSuite } from '@bftx/conformance';
import { pbft } from '../src/index';

// Replica 0 is the primary of view 0: its deviating pre-prepares must be refused and a view change elect another.
fairOrderingSuite(pbft(), { byzantine: 0 });

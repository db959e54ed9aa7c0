import { fairOrderingSuite } from '@bftx/conformance';
import { streamlet } from '../src/index';

// Leaders are H(view) mod n: replica 1 leads many of the run's views.
fairOrderingSuite(streamlet(), { byzantine: 1 });

// One replica process for the bench: the config file names the protocol; logs go to stdout (the
// bench discards them). Stops on SIGTERM.
import type { ProtocolDefinition } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import pino from 'pino';
import { readConfig, startReplica } from '../src/index';

const protocols: Record<string, (deltaMs: number) => ProtocolDefinition<unknown>> = {
  // As bftx-replica runs it: leaders with nothing to order wait a delta before an empty block.
  hotstuff: (deltaMs: number) => hotstuff({ idleViewMs: deltaMs }) as ProtocolDefinition<unknown>,
  streamlet: () => streamlet() as ProtocolDefinition<unknown>,
  pbft: () => pbft() as ProtocolDefinition<unknown>,
};
const config = readConfig(process.argv[2]!, Object.keys(protocols));
const replica = await startReplica(config, protocols[config.protocol]!(config.deltaMs), pino({ level: 'warn' }));
process.once('SIGTERM', () => void replica.stop().then(() => process.exit(0)));

// The protocols by name: what a config file's `protocol` field selects. Swapping the protocol of a
// cluster is this one value; nothing else in a run changes.
import type { ProtocolDefinition } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';

export const PROTOCOL_NAMES = ['streamlet', 'hotstuff', 'pbft'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

export function protocolByName(name: ProtocolName): ProtocolDefinition<unknown> {
  switch (name) {
    case 'streamlet':
      return streamlet() as ProtocolDefinition<unknown>;
    case 'hotstuff':
      return hotstuff() as ProtocolDefinition<unknown>;
    case 'pbft':
      return pbft() as ProtocolDefinition<unknown>;
  }
}

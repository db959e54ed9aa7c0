import { adversaryBlocks, signStatement, type ProtocolConfig, type ProtocolDefinition } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { decodeStreamletMessage, encodeStreamletMessage, type StreamletMessage } from './messages';
import { Streamlet, type StreamletOptions } from './streamlet';

/**
 * Streamlet as a ProtocolDefinition. `replica` lets tests substitute a
 * subclass with a rule changed (the mutation checks); users leave it out.
 */
export function streamlet(options: StreamletOptions & { replica?: new (config: ProtocolConfig, options: StreamletOptions) => Streamlet } = {}): ProtocolDefinition<StreamletMessage> {
  const Replica = options.replica ?? Streamlet;
  return {
    name: options.echo === false ? 'streamlet(no echo)' : 'streamlet',
    create: (config) => new Replica(config, options),
    encodeMessage: encodeStreamletMessage,
    decodeMessage: decodeStreamletMessage,
    messageKind: (m) => m.type,
    votes: (m) => (m.type === 'vote' ? [m.vote] : []),
    // After GST, five consecutive epochs with honest leaders finalize a new block (Chan-Shi, Theorem 6);
    // with all leaders honest that is within 5 epochs, plus one to get every replica in step.
    livenessBound: (timing) => 6 * 2 * timing.delta,
    byzantine: {
      isVote: (m) => m.type === 'vote',
      conflicting(m, signer, self) {
        if (m.type === 'proposal') {
          const other = adversaryBlocks.conflicting(m.block, self);
          return { type: 'proposal', block: other, signature: signStatement(signer, self, Domains.proposal, { epoch: other.epoch, slot: 0, phase: 0, blockHash: other.hash }).signature };
        }
        if (m.type !== 'vote') return undefined;
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { epoch: m.vote.epoch, slot: 0, phase: 0, blockHash: adversaryBlocks.fakeHash(self, m.vote.epoch) }) };
      },
      withBadSignature(m) {
        const bad = new Uint8Array(64).fill(0x5a);
        if (m.type === 'proposal') return { ...m, signature: bad };
        if (m.type === 'vote') return { ...m, vote: { ...m.vote, signature: bad } };
        return m; // fetches and answers carry no signature of their sender
      },
      voteFor(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { epoch: m.block.epoch, slot: 0, phase: 0, blockHash: m.block.hash }) };
      },
      signerOf: (m) => (m.type === 'proposal' ? m.block.proposer : m.type === 'vote' ? m.vote.signer : -1),
      proposedBlock: (m) => (m.type === 'proposal' ? { hash: m.block.hash, height: m.block.height } : undefined),
      reparent(m, parent, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forked = adversaryBlocks.reparented(m.block, parent);
        return { type: 'proposal', block: forked, signature: signStatement(signer, self, Domains.proposal, { epoch: forked.epoch, slot: 0, phase: 0, blockHash: forked.hash }).signature };
      },
      withForgedParent(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forged = adversaryBlocks.forgedParent(m.block);
        return { type: 'proposal', block: forged, signature: signStatement(signer, self, Domains.proposal, { epoch: forged.epoch, slot: 0, phase: 0, blockHash: forged.hash }).signature };
      },
    },
  };
}

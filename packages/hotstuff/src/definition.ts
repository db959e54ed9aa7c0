import { adversaryBlocks, GENESIS, signStatement, type Block, type ProtocolConfig, type ProtocolDefinition } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { GENESIS_QC, HotStuff, type HotStuffOptions } from './hotstuff';
import { decodeHotStuffMessage, encodeHotStuffMessage, type HotStuffMessage } from './messages';

/**
 * Chained HotStuff as a ProtocolDefinition. `replica` lets tests substitute a subclass with a
 * rule changed (the mutation checks); users leave it out.
 */
export function hotstuff(options: HotStuffOptions & { replica?: new (config: ProtocolConfig, options: HotStuffOptions) => HotStuff } = {}): ProtocolDefinition<HotStuffMessage> {
  const Replica = options.replica ?? HotStuff;
  const baseDeltas = options.baseTimeoutDeltas ?? 4;
  const maxBackoff = options.maxBackoff ?? 3;
  const resign = (block: Block, signer: Parameters<typeof signStatement>[0], self: number) =>
    signStatement(signer, self, Domains.proposal, { epoch: block.epoch, slot: 0, phase: 0, blockHash: block.hash }).signature;
  return {
    name: 'hotstuff',
    create: (config) => new Replica(config, options),
    encodeMessage: encodeHotStuffMessage,
    decodeMessage: decodeHotStuffMessage,
    messageKind: (m) => m.type,
    votes: (m) => (m.type === 'vote' ? [m.vote] : []),
    // After GST every replica holds every QC and TC within delta, so all reach the highest view; at
    // worst one full (backed-off) timeout passes before a view with an honest leader, then three
    // views of at most 2 delta each (proposal, votes) certify the 3-chain, and one more delivers it.
    livenessBound: (timing) => baseDeltas * 2 ** maxBackoff * timing.delta + 10 * timing.delta + 4 * (options.idleViewMs ?? 0),
    byzantine: {
      isVote: (m) => m.type === 'vote',
      conflicting(m, signer, self) {
        if (m.type === 'proposal') {
          const other = adversaryBlocks.conflicting(m.block, self);
          return { ...m, block: other, signature: resign(other, signer, self) };
        }
        if (m.type === 'vote') {
          return { ...m, vote: signStatement(signer, self, Domains.vote, { epoch: m.vote.epoch, slot: 0, phase: 0, blockHash: adversaryBlocks.fakeHash(self, m.vote.epoch) }) };
        }
        return undefined;
      },
      withBadSignature(m) {
        const bad = new Uint8Array(64).fill(0x5a);
        if (m.type === 'proposal') return { ...m, signature: bad };
        if (m.type === 'vote') return { ...m, vote: { ...m.vote, signature: bad } };
        if (m.type === 'timeout') return { ...m, timeout: { ...m.timeout, statement: { ...m.timeout.statement, signature: bad } } };
        return m; // fetch and block answers carry no signature of their sender
      },
      voteFor(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const proposal = { domain: Domains.proposal, epoch: m.block.epoch, slot: 0, phase: 0, blockHash: m.block.hash, signer: m.block.proposer, signature: m.signature };
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { epoch: m.block.epoch, slot: 0, phase: 0, blockHash: m.block.hash }), proposal };
      },
      signerOf: (m) => (m.type === 'proposal' || m.type === 'block' ? m.block.proposer : m.type === 'vote' ? m.vote.signer : m.type === 'timeout' ? m.timeout.statement.signer : -1),
      proposedBlock: (m) => (m.type === 'proposal' ? { hash: m.block.hash, height: m.block.height } : undefined),
      // A fork needs a certificate for its parent; the only one a coalition always holds is genesis'.
      // (Honest replicas accept it only with a TC for the previous view, which the message keeps.)
      reparent(m, _parent, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forked = adversaryBlocks.reparented(m.block, GENESIS);
        return { ...m, block: forked, justify: GENESIS_QC, signature: resign(forked, signer, self) };
      },
      withForgedParent(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forged = adversaryBlocks.forgedParent(m.block);
        return { ...m, block: forged, signature: resign(forged, signer, self) };
      },
    },
  };
}

import { adversaryBlocks, signStatement, type Block, type ProtocolConfig, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';
import { PbftDomains, decodePbftMessage, encodePbftMessage, type PbftMessage } from './messages';
import { Pbft, type PbftOptions } from './pbft';

/**
 * PBFT as a ProtocolDefinition. `replica` lets tests substitute a subclass with a rule changed
 * (the mutation checks); users leave it out.
 */
export function pbft(options: PbftOptions & { replica?: new (config: ProtocolConfig, options: PbftOptions) => Pbft } = {}): ProtocolDefinition<PbftMessage> {
  const Replica = options.replica ?? Pbft;
  const timeoutDeltas = (options.viewTimeoutDeltas ?? 10) * 2 ** (options.maxBackoff ?? 3);
  const resign = (s: SignedStatement, blockHash: Uint8Array, signer: Signer, self: number) => signStatement(signer, self, s.domain, { epoch: s.epoch, slot: s.slot, phase: s.phase, blockHash });
  const prePrepareOf = (view: number, batch: Block, signer: Signer, self: number): PbftMessage => ({
    type: 'pre-prepare',
    prePrepare: { view, batch, signature: signStatement(signer, self, PbftDomains.prePrepare, { epoch: view, slot: batch.height, phase: 0, blockHash: batch.hash }).signature },
  });
  return {
    name: 'pbft',
    create: (config) => new Replica(config, options),
    encodeMessage: encodePbftMessage,
    decodeMessage: decodePbftMessage,
    messageKind: (m) => m.type,
    votes: (m) => (m.type === 'prepare' || m.type === 'commit' ? [m.statement] : []),
    // After GST a stalled replica waits at most one backed-off progress timeout, the view change and
    // new view take a few delta, and then a batch commits in three message delays: 20 delta of slack.
    livenessBound: (timing) => (timeoutDeltas + 20) * timing.delta,
    byzantine: {
      isVote: (m) => m.type === 'prepare' || m.type === 'commit',
      conflicting(m, signer, self) {
        if (m.type === 'pre-prepare') return prePrepareOf(m.prePrepare.view, adversaryBlocks.conflicting(m.prePrepare.batch, self), signer, self);
        if (m.type === 'prepare' || m.type === 'commit') return { ...m, statement: resign(m.statement, adversaryBlocks.fakeHash(self, m.statement.epoch), signer, self) };
        return undefined;
      },
      withBadSignature(m) {
        const bad = new Uint8Array(64).fill(0x5a);
        switch (m.type) {
          case 'pre-prepare':
            return { ...m, prePrepare: { ...m.prePrepare, signature: bad } };
          case 'prepare':
          case 'commit':
          case 'checkpoint':
            return { ...m, statement: { ...m.statement, signature: bad } };
          case 'view-change':
            return { ...m, viewChange: { ...m.viewChange, statement: { ...m.viewChange.statement, signature: bad } } };
          default:
            return m;
        }
      },
      voteFor(m, signer, self) {
        if (m.type !== 'pre-prepare') return undefined;
        const p = m.prePrepare;
        const prePrepare: SignedStatement = { domain: PbftDomains.prePrepare, epoch: p.view, slot: p.batch.height, phase: 0, blockHash: p.batch.hash, signer: p.batch.proposer, signature: p.signature };
        return { type: 'prepare', statement: signStatement(signer, self, PbftDomains.prepare, { epoch: p.view, slot: p.batch.height, phase: 0, blockHash: p.batch.hash }), prePrepare };
      },
      signerOf(m) {
        switch (m.type) {
          case 'pre-prepare':
            return m.prePrepare.batch.proposer;
          case 'prepare':
          case 'commit':
          case 'checkpoint':
            return m.statement.signer;
          case 'view-change':
            return m.viewChange.statement.signer;
          default:
            return -1; // new views, fetches and answers carry no signature of their own
        }
      },
      proposedBlock: (m) => (m.type === 'pre-prepare' ? { hash: m.prePrepare.batch.hash, height: m.prePrepare.batch.height } : undefined),
      // Batches are not chained: there is no parent to fork from.
      reparent: () => undefined,
      withForgedParent(m, signer, self) {
        if (m.type !== 'pre-prepare') return undefined;
        return prePrepareOf(m.prePrepare.view, adversaryBlocks.forgedParent(m.prePrepare.batch), signer, self);
      },
    },
  };
}

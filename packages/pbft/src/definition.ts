import { adversaryBlocks, signStatement, type Block, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';
import { thinPbftCertificate, verifyPbftCommit } from './certificate';
import { PbftDomains, decodePbftMessage, encodePbftMessage, type PbftMessage, type PrePrepare } from './messages';
import { Pbft, prePrepareStatement, type PbftOptions } from './pbft';

/**
 * Every statement a message carries, whoever signed it: a pre-prepare's, a prepare's and the
 * primary's pre-prepare it answers, a commit's, a checkpoint's, a view change's own (the prepares
 * and checkpoints inside it are copies of statements their signers sent), the new primary's
 * pre-prepares in a NEW-VIEW, the commits in an answer to a fetch, and the checkpoint proof in an
 * answer from a finalized chain.
 */
export function pbftStatements(m: PbftMessage): readonly SignedStatement[] {
  switch (m.type) {
    case 'pre-prepare':
      return [prePrepareStatement(m.prePrepare)];
    case 'prepare':
      return [m.statement, m.prePrepare];
    case 'commit':
    case 'checkpoint':
      return [m.statement];
    case 'view-change':
      return [m.viewChange.statement];
    case 'new-view':
      return m.prePrepares.map(prePrepareStatement);
    case 'committed':
      return m.batches.flatMap((b) => b.commits);
    case 'final':
      return m.proof?.statements ?? [];
    case 'fetch':
      return [];
  }
}

/**
 * PBFT as a ProtocolDefinition. `rules` replaces any of the paper's rules (src/rules.ts): the
 * mutation tests plant bugs so, e.g. `pbft({ rules: { committedLocal: (s) => s.prepared } })`.
 */
export function pbft(options: PbftOptions = {}): ProtocolDefinition<PbftMessage> {
  const timeoutDeltas = (options.viewTimeoutDeltas ?? 10) * 2 ** (options.maxBackoff ?? 3);
  const K = options.checkpointInterval ?? 8;
  const resign = (s: SignedStatement, blockHash: Uint8Array, signer: Signer, self: number) => signStatement(signer, self, s.domain, { view: s.view, sequence: s.sequence, blockHash });
  const prePrepareOf = (view: number, batch: Block, signer: Signer, self: number): PbftMessage => ({
    type: 'pre-prepare',
    prePrepare: { view, primary: self, batch, signature: signStatement(signer, self, PbftDomains.prePrepare, { view: view, sequence: batch.height, blockHash: batch.hash }).signature },
  });
  const aheadPrePrepare = (p: PrePrepare, ahead: number, signer: Signer, self: number): PbftMessage => prePrepareOf(p.view + ahead, p.batch, signer, self);
  return {
    name: 'pbft',
    create: (config) => new Pbft(config, options),
    encodeMessage: encodePbftMessage,
    decodeMessage: decodePbftMessage,
    messageKind: (m) => m.type,
    payloadOf: (m) => (m.type === 'pre-prepare' ? m.prePrepare.batch.payload : undefined),
    votes: pbftStatements,
    // After GST a stalled replica waits at most one backed-off progress timeout, the view change and
    // new view take a few delta, and then a batch commits in three message delays: 20 delta of slack.
    livenessBound: (timing) => (timeoutDeltas + 20) * timing.delta,
    verifyCommit: verifyPbftCommit,
    byzantine: {
      thinCertificate: thinPbftCertificate,
      isVote: (m) => m.type === 'prepare' || m.type === 'commit',
      conflicting(m, signer, self) {
        if (m.type === 'pre-prepare') return prePrepareOf(m.prePrepare.view, adversaryBlocks.conflicting(m.prePrepare.batch, self), signer, self);
        if (m.type === 'prepare' || m.type === 'commit') return { ...m, statement: resign(m.statement, adversaryBlocks.fakeHash(self, m.statement.view), signer, self) };
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
        return { type: 'prepare', statement: signStatement(signer, self, PbftDomains.prepare, { view: p.view, sequence: p.batch.height, blockHash: p.batch.hash }), prePrepare: prePrepareStatement(p) };
      },
      signerOf(m) {
        switch (m.type) {
          case 'pre-prepare':
            return m.prePrepare.primary;
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
      // The same message `ahead` views further (a checkpoint: `ahead` intervals further), validly signed.
      farFuture(m, signer, self, ahead) {
        switch (m.type) {
          case 'pre-prepare':
            return aheadPrePrepare(m.prePrepare, ahead, signer, self);
          case 'prepare':
          case 'commit':
            return { ...m, statement: resign({ ...m.statement, view: m.statement.view + ahead }, m.statement.blockHash, signer, self) };
          case 'checkpoint':
            return { ...m, statement: resign({ ...m.statement, sequence: m.statement.sequence + ahead * K }, m.statement.blockHash, signer, self) };
          case 'view-change': {
            const v = m.viewChange;
            return { ...m, viewChange: { ...v, statement: resign({ ...v.statement, view: v.statement.view + ahead }, v.statement.blockHash, signer, self) } };
          }
          default:
            return undefined;
        }
      },
      // An answer to a fetch with the commits withheld from its first batch and every other batch replaced.
      corruptAnswer(m, _signer, self) {
        // From a finalized chain: the first block replaced (its hash no longer links to the rest).
        if (m.type === 'final') return m.blocks.length === 0 ? undefined : { ...m, blocks: [adversaryBlocks.conflicting(m.blocks[0]!, self), ...m.blocks.slice(1)] };
        if (m.type !== 'committed') return undefined;
        return {
          type: 'committed',
          batches: m.batches.map((b, i) => (i === 0 ? { batch: b.batch, commits: b.commits.slice(0, 1) } : { batch: adversaryBlocks.conflicting(b.batch, self), commits: b.commits })),
        };
      },
    },
  };
}

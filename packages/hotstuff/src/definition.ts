import { adversaryBlocks, thinVoteChain, GENESIS, makeBlock, signStatement, type Block, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { verifyHotStuffCommit } from './certificate';
import { GENESIS_QC, HotStuff, type HotStuffOptions } from './hotstuff';
import { decodeHotStuffMessage, encodeHotStuffMessage, type HotStuffMessage } from './messages';

const proposalStatement = (m: Extract<HotStuffMessage, { type: 'proposal' }>): SignedStatement => ({ domain: Domains.proposal, view: m.block.view, sequence: 0, blockHash: m.block.hash, signer: m.block.proposer, signature: m.signature });

/**
 * Chained HotStuff as a ProtocolDefinition. `rules` replaces rules of rules.ts (a variant, a
 * mutant in a test, a Byzantine replica): `hotstuff({ rules: { commit: twoChain } })`.
 */
export function hotstuff(options: HotStuffOptions = {}): ProtocolDefinition<HotStuffMessage> {
  const baseDeltas = options.baseTimeoutDeltas ?? 4;
  const maxBackoff = options.maxBackoff ?? 3;
  const resign = (block: Block, signer: Parameters<typeof signStatement>[0], self: number) =>
    signStatement(signer, self, Domains.proposal, { view: block.view, sequence: 0, blockHash: block.hash }).signature;
  return {
    name: 'hotstuff',
    create: (config) => new HotStuff(config, options),
    encodeMessage: encodeHotStuffMessage,
    decodeMessage: decodeHotStuffMessage,
    messageKind: (m) => m.type,
    payloadOf: (m) => (m.type === 'proposal' ? m.block.payload : undefined),
    // Every statement a message carries signed on its own (a QC's signatures are not statements a
    // message makes): a proposal's, and the timeouts of its TC; a vote and the proposal it carries; a
    // timeout and the proposal it carries.
    votes: (m) => {
      switch (m.type) {
        case 'proposal':
          return [proposalStatement(m), ...(m.tc?.timeouts ?? [])];
        case 'vote':
          return [m.vote, m.proposal];
        case 'timeout':
          return m.timeout.proposal === undefined ? [m.timeout.statement] : [m.timeout.statement, m.timeout.proposal];
        case 'tc':
          return m.tc.timeouts;
        default:
          return [];
      }
    },
    // Derived in the README ("Liveness bound"). After GST, once every honest replica has left the
    // view it was in at GST: with honest leaders, at worst one full backed-off timeout, then three
    // views of at most 2 delta each certify a 3-chain and one more delivers it (the first term).
    // With f faulty leaders (round-robin, placed anywhere): between two commits at most one
    // rotation of n views; the views that time out come in streaks, k adjacent faulty leaders
    // giving at most k + 1 (the view before them too, when its votes reach only faulty collectors),
    // the i-th of a streak lasting its backed-off timer plus delta (timeouts reach everyone, a TC
    // forms); streaks cost most when all f are adjacent (the backoff grows along a streak); every
    // other view of the rotation lasts at most 2 delta; plus delta to deliver the commit and delta slack.
    livenessBound: (timing, n) => {
      const d = timing.delta;
      const idle = options.idleViewMs ?? 0;
      const honestLeaders = baseDeltas * 2 ** maxBackoff * d + 10 * d + 4 * idle;
      const f = Math.floor((n - 1) / 3);
      let streak = 0;
      for (let i = 0; i <= f; i++) streak += baseDeltas * 2 ** Math.min(i, maxBackoff) * d + d;
      const faultyLeaders = streak + 2 * (n - f) * d + 2 * d + (n - f) * idle;
      return Math.max(honestLeaders, faultyLeaders);
    },
    verifyCommit: verifyHotStuffCommit,
    byzantine: {
      thinCertificate: thinVoteChain,
      isVote: (m) => m.type === 'vote',
      conflicting(m, signer, self) {
        if (m.type === 'proposal') {
          const other = adversaryBlocks.conflicting(m.block, self);
          return { ...m, block: other, signature: resign(other, signer, self) };
        }
        if (m.type === 'vote') {
          return { ...m, vote: signStatement(signer, self, Domains.vote, { view: m.vote.view, sequence: 0, blockHash: adversaryBlocks.fakeHash(self, m.vote.view) }) };
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
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { view: m.block.view, sequence: 0, blockHash: m.block.hash }), proposal: proposalStatement(m) };
      },
      signerOf: (m) => (m.type === 'proposal' ? m.block.proposer : m.type === 'block' ? (m.blocks[0]?.block.proposer ?? -1) : m.type === 'vote' ? m.vote.signer : m.type === 'timeout' ? m.timeout.statement.signer : -1),
      proposedBlock: (m) => (m.type === 'proposal' ? { hash: m.block.hash, height: m.block.height } : undefined),
      // A fork needs a certificate for its parent; the only one a coalition always holds is genesis'.
      // (Honest replicas accept it only with a TC for the previous view, which the message keeps.)
      reparent(m, _parent, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forked = adversaryBlocks.reparented(m.block, GENESIS);
        return { ...m, block: forked, justify: GENESIS_QC, signature: resign(forked, signer, self) };
      },
      // The same kind of message, `ahead` views later, signed by `signer`: a proposal (its QC and TC
      // no longer justify it), a vote, a timeout. Honest replicas keep none of them beyond their window.
      farFuture(m, signer, self, ahead) {
        if (m.type === 'proposal') {
          const far = makeBlock({ parent: m.block.parent, height: m.block.height, view: m.block.view + ahead, proposer: self, payload: m.block.payload });
          return { ...m, block: far, signature: resign(far, signer, self) };
        }
        if (m.type === 'vote') return { ...m, vote: signStatement(signer, self, Domains.vote, { view: m.vote.view + ahead, sequence: 0, blockHash: m.vote.blockHash }) };
        if (m.type === 'timeout') {
          const { statement, highQC } = m.timeout;
          return { type: 'timeout', timeout: { statement: signStatement(signer, self, Domains.timeout, { view: statement.view + ahead, sequence: 0, blockHash: statement.blockHash }), highQC } };
        }
        return undefined;
      },
      // A fetch answer with its proof stripped (the QCs emptied) or, every other time, another block
      // on top: honest askers refuse both and ask again.
      corruptAnswer(m) {
        if (m.type === 'final' && m.blocks.length > 0) {
          // Blocks served from the ledger carry no QC: another block on top, or the same header with
          // its transactions changed (its hash still links; only the payload root gives it away).
          const [top, ...rest] = m.blocks;
          if (top!.height % 2 === 1) return { type: 'final', blocks: [adversaryBlocks.conflicting(top!, -1), ...rest] };
          return { type: 'final', blocks: [{ ...top!, payload: [...top!.payload, Uint8Array.of(0xba, 0xd)] }, ...rest] };
        }
        if (m.type !== 'block' || m.blocks.length === 0) return undefined;
        const [top, ...rest] = m.blocks;
        if (top!.block.height % 2 === 0) return { type: 'block', blocks: m.blocks.map((l) => ({ block: l.block, justify: { ...l.justify, signers: new Uint8Array(l.justify.signers.length), signatures: [] } })) };
        return { type: 'block', blocks: [{ block: adversaryBlocks.conflicting(top!.block, -1), justify: top!.justify }, ...rest] };
      },
      withForgedParent(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forged = adversaryBlocks.forgedParent(m.block);
        return { ...m, block: forged, signature: resign(forged, signer, self) };
      },
    },
  };
}

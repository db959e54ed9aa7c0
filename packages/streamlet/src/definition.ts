import { adversaryBlocks, thinVoteChain, makeBlock, signStatement, type ProtocolDefinition, type SignedStatement } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { verifyStreamletCommit } from './certificate';
import { decodeStreamletMessage, encodeStreamletMessage, type StreamletMessage } from './messages';
import { Streamlet, type StreamletOptions } from './streamlet';

/**
 * Streamlet as a ProtocolDefinition. `rules` replaces some of the paper's rules (rules.ts): how the
 * mutation tests plant a bug, and how a Byzantine variant is written; users leave it out.
 */
export function streamlet(options: StreamletOptions = {}): ProtocolDefinition<StreamletMessage> {
  return {
    name: options.echo === false ? 'streamlet(no echo)' : 'streamlet',
    create: (config) => new Streamlet(config, options),
    encodeMessage: encodeStreamletMessage,
    decodeMessage: decodeStreamletMessage,
    messageKind: (m) => m.type,
    payloadOf: (m) => (m.type === 'proposal' ? m.block.payload : undefined),
    votes: statementsOf,
    // Seven views of 2 delta + 1 ms (see rules.viewLength): with honest leaders from GST on, the
    // first new block is final at most 6 views + 2 delta - 1 ms after GST (the README derives it:
    // up to one view until the first view that starts after GST, up to three views for what only
    // some replicas knew before GST to reach all, bodies included, then three views that notarize
    // in a row, the last one's votes arriving 2 delta after its start). The outside attack's leader
    // order (F4) reaches that worst case exactly: 145 ms at delta 10, against 6 views (126) stated before.
    livenessBound: (timing) => 7 * (2 * timing.delta + 1),
    verifyCommit: verifyStreamletCommit,
    byzantine: {
      thinCertificate: thinVoteChain,
      // Everything that carries votes: a vote withholder withholds notarizations and answers too, and an
      // adversary that holds votes back holds them back however they travel.
      isVote: (m) => m.type === 'vote' || m.type === 'notarization' || m.type === 'block',
      conflicting(m, signer, self) {
        if (m.type === 'proposal') {
          const other = adversaryBlocks.conflicting(m.block, self);
          return { type: 'proposal', block: other, signature: signStatement(signer, self, Domains.proposal, { view: other.view, sequence: 0, blockHash: other.hash }).signature };
        }
        if (m.type !== 'vote') return undefined;
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { view: m.vote.view, sequence: 0, blockHash: adversaryBlocks.fakeHash(self, m.vote.view) }) };
      },
      withBadSignature(m) {
        const bad = new Uint8Array(64).fill(0x5a);
        if (m.type === 'proposal') return { ...m, signature: bad };
        if (m.type === 'vote') return { ...m, vote: { ...m.vote, signature: bad } };
        return m; // fetches and answers carry no signature of their sender
      },
      voteFor(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { view: m.block.view, sequence: 0, blockHash: m.block.hash }) };
      },
      signerOf: (m) => (m.type === 'proposal' ? m.block.proposer : m.type === 'vote' ? m.vote.signer : -1),
      proposedBlock: (m) => (m.type === 'proposal' ? { hash: m.block.hash, height: m.block.height } : undefined),
      reparent(m, parent, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forked = adversaryBlocks.reparented(m.block, parent);
        return { type: 'proposal', block: forked, signature: signStatement(signer, self, Domains.proposal, { view: forked.view, sequence: 0, blockHash: forked.hash }).signature };
      },
      farFuture(m, signer, self, ahead) {
        if (m.type === 'proposal') {
          const b = m.block;
          const far = makeBlock({ parent: b.parent, height: b.height + ahead, view: b.view + ahead, proposer: self, payload: b.payload });
          return { type: 'proposal', block: far, signature: signStatement(signer, self, Domains.proposal, { view: far.view, sequence: 0, blockHash: far.hash }).signature };
        }
        if (m.type !== 'vote') return undefined;
        const view = m.vote.view + ahead;
        return { type: 'vote', vote: signStatement(signer, self, Domains.vote, { view, sequence: 0, blockHash: adversaryBlocks.fakeHash(self, view) }) };
      },
      corruptAnswer(m, _signer, self) {
        if (m.type !== 'block') return undefined;
        // The block without the votes that prove it notarized, or (when it has none) another block.
        return m.votes.length > 0 ? { type: 'block', block: m.block, votes: [], ancestors: m.ancestors } : { type: 'block', block: adversaryBlocks.conflicting(m.block, self), votes: [], ancestors: [] };
      },
      withForgedParent(m, signer, self) {
        if (m.type !== 'proposal') return undefined;
        const forged = adversaryBlocks.forgedParent(m.block);
        return { type: 'proposal', block: forged, signature: signStatement(signer, self, Domains.proposal, { view: forged.view, sequence: 0, blockHash: forged.hash }).signature };
      },
    },
  };
}

/**
 * Every signed statement a message carries, as signed: a proposal is its leader's statement under
 * the proposal domain (view, sequence 0, the block's hash); a vote is itself; a notarization
 * and a fetch answer carry votes.
 */
function statementsOf(m: StreamletMessage): readonly SignedStatement[] {
  switch (m.type) {
    case 'proposal':
      return [{ domain: Domains.proposal, view: m.block.view, sequence: 0, blockHash: m.block.hash, signer: m.block.proposer, signature: m.signature }];
    case 'vote':
      return [m.vote];
    case 'notarization':
    case 'block':
      return m.votes;
    case 'fetch':
      return [];
  }
}

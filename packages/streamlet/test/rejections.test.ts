// Every refusal is typed and counted (issue 17): one replica fed by hand one input of each class it
// refuses, the code of each rejection checked; an honest run refuses only what an honest run must;
// and the payload policy's refusal stops the vote.
import {
  FifoPayloadPolicy,
  GENESIS,
  makeBlock,
  signStatement,
  type Block,
  type PayloadContext,
  type PayloadPolicy,
  type PayloadVerdict,
  type ProtocolConfig,
  type ProtocolOutput,
  type RejectionCode,
} from '@bftx/consensus';
import { bytesEqual, Domains, utf8 } from '@bftx/crypto';
import { simulate, synchronous } from '@bftx/sim';
import { Streamlet, streamlet, type StreamletMessage } from '../src/index';
import { DELTA, proposal, scheme, signedVote, signers, validators, VIEW } from './fixtures';

// View v is led by v mod 3: replica 3, the one fed by hand, never leads.
const leaders = Array.from({ length: 64 }, (_, v) => v % 3);

const MARKED = utf8('marked');
/** The FIFO policy, except that a payload holding MARKED may not be voted for. */
class RefusesMarked implements PayloadPolicy {
  readonly name = 'refuses-marked';
  readonly refused: PayloadContext[] = [];
  private readonly fifo = new FifoPayloadPolicy();
  offer(txs: readonly Uint8Array[]): void {
    this.fifo.offer(txs);
  }
  build(context: PayloadContext, max: number): Uint8Array[] {
    return this.fifo.build(context, max);
  }
  validate(payload: readonly Uint8Array[], context: PayloadContext): PayloadVerdict {
    if (!payload.some((tx) => bytesEqual(tx, MARKED))) return { ok: true };
    this.refused.push(context);
    return { ok: false, reason: 'marked' };
  }
  finalized(txs: readonly Uint8Array[]): void {
    this.fifo.finalized(txs);
  }
  get size(): number {
    return this.fifo.size;
  }
}

function replica(payload = new RefusesMarked()): { r: Streamlet; step: (from: number, m: StreamletMessage, now?: number) => ProtocolOutput<StreamletMessage>[] } {
  const config: ProtocolConfig = { self: 3, validators, scheme, signer: signers[3]!, timing: { delta: DELTA }, leaderSchedule: leaders, payload };
  const r = new Streamlet(config);
  r.step({ type: 'start', now: VIEW });
  return { r, step: (from, message, now = VIEW) => r.step({ type: 'message', from, message, now }) };
}
const block = (parent: Block, view: number, payload: Uint8Array[] = []) => makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: leaders[view]!, payload });
const vote = (b: Block, by: number): StreamletMessage => ({ type: 'vote', vote: signedVote(b, by) });
const rejections = (out: ProtocolOutput<StreamletMessage>[]) => out.flatMap((o) => (o.type === 'reject' ? [o] : []));
const votesIn = (out: ProtocolOutput<StreamletMessage>[]) => out.filter((o) => o.type === 'broadcast' && o.message.type === 'vote');

describe('each refused input has its code, its sender and its kind', () => {
  const b1 = block(GENESIS, 1);
  const cases: Array<[RejectionCode, string, (s: ReturnType<typeof replica>['step']) => ProtocolOutput<StreamletMessage>[]]> = [
    ['OUT_OF_WINDOW', 'a proposal 20 views ahead', (s) => s(2, proposal(block(GENESIS, 21)))],
    ['OUT_OF_WINDOW', 'a vote 20 views ahead', (s) => s(2, vote(block(GENESIS, 21), 2))],
    ['OUT_OF_WINDOW', 'a notarization 20 views ahead', (s) => s(2, { type: 'notarization', view: 21, blockHash: b1.hash, votes: [] })],
    ['NOT_FROM_LEADER', 'a proposal signed by a replica that does not lead its view', (s) => s(2, proposal(makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 2, payload: [] })))],
    ['BAD_SIGNATURE', 'a proposal signed by another key', (s) => s(1, proposal(b1, 2))],
    ['BAD_SIGNATURE', 'a vote with a bad signature', (s) => s(2, { type: 'vote', vote: { ...(vote(b1, 2) as Extract<StreamletMessage, { type: 'vote' }>).vote, signature: new Uint8Array(64).fill(7) } })],
    ['INVALID_PAYLOAD', "a proposal whose transactions do not match its header's root", (s) => s(1, proposal({ ...b1, payload: [utf8('other')] }))],
    ['DUPLICATE', 'a proposal seen before (an echo)', (s) => (s(1, proposal(b1)), s(2, proposal(b1)))],
    ['DUPLICATE', 'a vote seen before (an echo)', (s) => (s(2, vote(b1, 2)), s(0, vote(b1, 2)))],
    ['EQUIVOCATION', "a leader's third proposal in one view", (s) => (s(1, proposal(b1)), s(1, proposal(block(GENESIS, 1, [utf8('a')]))), s(1, proposal(block(GENESIS, 1, [utf8('b')]))))],
    ['EQUIVOCATION', "a signer's third vote in one view", (s) => (s(2, vote(b1, 2)), s(2, vote(block(GENESIS, 1, [utf8('a')]), 2)), s(2, vote(block(GENESIS, 1, [utf8('b')]), 2)))],
    ['MALFORMED', 'a vote signed under the proposal domain', (s) => s(2, { type: 'vote', vote: signStatement(signers[2]!, 2, Domains.proposal, { view: 1, sequence: 0, blockHash: b1.hash }) })],
    ['STALE', 'a notarization at or below the finalized root', (s) => s(2, { type: 'notarization', view: 0, blockHash: GENESIS.hash, votes: [] })],
    ['BAD_CERTIFICATE', 'a notarization with one vote of three', (s) => s(2, { type: 'notarization', view: 1, blockHash: b1.hash, votes: [(vote(b1, 2) as Extract<StreamletMessage, { type: 'vote' }>).vote] })],
    ['UNASKED', 'a fetch answer for a block nobody asked for', (s) => s(2, { type: 'block', block: b1, votes: [], ancestors: [] })],
    [
      'UNPROVEN',
      'a fetch answer without the votes that vouch for an unknown block',
      (s) => {
        // A proposal whose parent is unknown: the replica fetches the parent, and a peer answers with its body and no votes.
        const x = block(GENESIS, 1, [utf8('x')]);
        s(1, proposal(block(x, 2)));
        return s(2, { type: 'block', block: x, votes: [], ancestors: [] });
      },
    ],
    [
      'UNPROVEN',
      'a fetch answer that brings a held block without a quorum of its votes',
      (s) => {
        // A proposal on a block held here but not notarized: the replica asks for that block's votes, and a peer answers with one.
        s(1, proposal(b1));
        s(2, proposal(block(b1, 2)));
        return s(0, { type: 'block', block: b1, votes: [signedVote(b1, 0)], ancestors: [] });
      },
    ],
  ];

  test.each(cases)('%s: %s', (code, _what, feed) => {
    const { r, step } = replica();
    const got = rejections(feed(step));
    expect(got.map((x) => x.code)).toEqual([code]);
    expect(got[0]!.from).toBeGreaterThanOrEqual(0);
    expect(got[0]!.kind).toBeDefined();
    // Refused inputs change nothing that a later honest input needs.
    expect(r.footprint().retained).toBeLessThan(16);
  });

  test('a proposal that cannot extend the finalized tip is STALE (and the sender is named)', () => {
    const { step } = replica();
    // Views 1-3 notarize x1, x2, x3 (quorums of votes): x2 is final, the root moves to it.
    let parent: Block = GENESIS;
    for (let v = 1; v <= 3; v++) {
      const x = block(parent, v);
      step(leaders[v]!, proposal(x), v * VIEW);
      for (const by of [0, 1, 2]) step(by, vote(x, by), v * VIEW);
      parent = x;
    }
    const late = block(GENESIS, 4);
    expect(rejections(step(0, proposal(late), 4 * VIEW))).toEqual([{ type: 'reject', code: 'STALE', from: 0, kind: 'proposal' }]);
  });
});

describe('the payload policy judges a proposal before the vote', () => {
  test('a payload the policy refuses gets no vote and one INVALID_PAYLOAD rejection; one it accepts gets the vote', () => {
    const policy = new RefusesMarked();
    const { r, step } = replica(policy);
    const bad = block(GENESIS, 1, [utf8('fine'), MARKED]);
    const out = step(1, proposal(bad));
    expect(votesIn(out)).toEqual([]);
    expect(rejections(out)).toEqual([{ type: 'reject', code: 'INVALID_PAYLOAD', from: 1, kind: 'proposal' }]);
    expect(policy.refused.map((c) => [c.view, c.height])).toEqual([[1, 1]]);
    // Votes of others change the tree: the proposal is judged once, not again each time.
    expect(rejections(step(2, vote(bad, 2)))).toEqual([]);
    const good = block(GENESIS, 2, [utf8('fine')]);
    const later = r.step({ type: 'timer', timer: 'view', now: 2 * VIEW });
    expect(votesIn([...later, ...step(2, proposal(good), 2 * VIEW)])).toHaveLength(1);
  });

  test('in a cluster, blocks holding the marked transaction are never voted for while the others finalize', () => {
    // Replica 0's policy adds the marked transaction to every block it builds (what a misbehaving
    // leader could do); every replica's policy refuses it.
    class AddsMarked extends RefusesMarked {
      override build(context: PayloadContext, max: number): Uint8Array[] {
        return [...super.build(context, max - 1), MARKED];
      }
    }
    const base = streamlet();
    const protocol = { ...base, create: (config: ProtocolConfig) => base.create({ ...config, payload: config.self === 0 ? new AddsMarked() : new RefusesMarked() }) };
    const r = simulate({ protocol, n: 4, seed: 3, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 40 * VIEW, transactions: { every: DELTA, perBatch: 2 }, traceKinds: ['propose', 'finalize'] });
    const byZero = new Set(r.trace.filter((e) => e.ev === 'propose' && e.replica === 0).map((e) => e.block));
    expect(byZero.size).toBeGreaterThan(0);
    for (const x of r.replicas) {
      expect(x.ledger.filter((id) => byZero.has(id))).toEqual([]);
      expect(x.finalized).toBeGreaterThan(10);
      // Each of replica 0's proposals refused at most once per replica (one proposed at the end may not arrive).
      expect(x.rejections.INVALID_PAYLOAD).toBeGreaterThan(0);
      expect(x.rejections.INVALID_PAYLOAD).toBeLessThanOrEqual(byZero.size);
    }
    expect(r.safetyViolation).toBeUndefined();
  });
});

describe('an honest run', () => {
  const run = (echo: boolean) => simulate({ protocol: streamlet({ echo }), n: 4, seed: 5, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 60 * VIEW, transactions: { every: DELTA, perBatch: 2 }, trace: false });

  test('with echo, refuses only the echoes: DUPLICATE', () => {
    // Every message is echoed on first receipt, so each replica receives each one up to n - 1 times
    // more: all refused as DUPLICATE (and not echoed again). Nothing else is refused.
    const r = run(true);
    expect(Object.keys(r.rejections)).toEqual(['DUPLICATE']);
    expect(r.honestFinalizedHeight).toBeGreaterThan(40);
  });

  test('without echo, refuses nothing', () => {
    const r = run(false);
    expect(r.rejections).toEqual({});
    expect(r.honestFinalizedHeight).toBeGreaterThan(40);
  });
});

// Issue 15, item by item, on a single replica driven input by input (no simulator): what it
// persists and how it restarts from it (2), the repair gossip (7), fetches that stay open until the
// answer proves what was asked (8), views long enough for votes delayed exactly delta (9), and a
// bounded state under a flood of validly signed far-future messages (10).
import { GENESIS, makeBlock, type Block, type ProtocolConfig, type ProtocolOutput } from '@bftx/consensus';
import { fixedDelay, simulate } from '@bftx/sim';
import { Domains } from '@bftx/crypto';
import { Streamlet, streamlet, type StreamletMessage } from '../src/index';
import { DELTA, proposal, scheme, signedVote, signers, validators, VIEW } from './fixtures';

const protocol = streamlet();

/** Replica `self` of four; leaders from `leaders` (view -> validator). */
function config(self: number, leaders: readonly number[], safetyState?: Uint8Array): ProtocolConfig {
  return { self, validators, scheme, signer: signers[self]!, timing: { delta: DELTA }, leaderSchedule: leaders, ...(safetyState ? { safetyState } : {}) };
}

function block(parent: Block, view: number, proposer: number): Block {
  return makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer, payload: [] });
}
const vote = signedVote;
const quorumOf = (b: Block, by: readonly number[] = [0, 1, 2]) => by.map((v) => vote(b, v));

type Out = ProtocolOutput<StreamletMessage>[];
const sent = (out: Out) => out.flatMap((o) => (o.type === 'broadcast' || o.type === 'send' ? [o.message] : []));
const votesIn = (out: Out) => sent(out).flatMap((m) => (m.type === 'vote' ? [m.vote] : []));
const lastPersist = (outs: Out[]) => outs.flat().filter((o): o is Extract<ProtocolOutput<StreamletMessage>, { type: 'persist' }> => o.type === 'persist').pop()?.state;

/** A replica and every output it produced. */
function driven(r: Streamlet) {
  const outs: Out[] = [];
  const at = (now: number) => ({
    start: () => outs[outs.push(r.step({ type: 'start', now })) - 1]!,
    timer: () => outs[outs.push(r.step({ type: 'timer', timer: 'view', now })) - 1]!,
    message: (from: number, message: StreamletMessage) => outs[outs.push(r.step({ type: 'message', from, message, now })) - 1]!,
  });
  return { r, outs, at };
}

describe('item 2: a replica restarted from its last persist alone', () => {
  // Leaders: view 1 -> 0, 2 -> 1, 3 -> 2, 4 -> 0, 5 -> 1.
  const leaders = [0, 0, 1, 2, 0, 1];
  const x = block(GENESIS, 1, 0);
  const y = block(x, 2, 1);
  const z = block(y, 3, 2);

  function votedOnY() {
    const d = driven(new Streamlet(config(3, leaders)));
    d.at(0).start();
    d.at(VIEW).timer();
    d.at(VIEW + 1).message(0, proposal(x));
    for (const v of quorumOf(x)) d.at(VIEW + 2).message(v.signer, { type: 'vote', vote: v });
    d.at(2 * VIEW).timer();
    d.at(2 * VIEW + 1).message(1, proposal(y));
    for (const v of quorumOf(y)) d.at(2 * VIEW + 2).message(v.signer, { type: 'vote', vote: v });
    d.at(3 * VIEW).timer();
    const out = d.at(3 * VIEW + 1).message(2, proposal(z));
    expect(votesIn(out).map((v) => v.view)).toEqual([3]); // it voted for z, standing on y (height 2)
    return d;
  }

  test('never votes for a block on a shorter notarized chain than it stood on (the old replica, remembering only its last voted view, did: a conflicting finalization followed)', () => {
    const before = votedOnY();
    const restarted = driven(new Streamlet(config(3, leaders, lastPersist(before.outs))));
    restarted.at(3 * VIEW + 5).start();
    restarted.at(4 * VIEW).timer();
    // View 4's leader (0) proposes on x (height 1): a chain shorter than y's.
    const w = block(x, 4, 0);
    const outs = [restarted.at(4 * VIEW + 1).message(0, proposal(w))];
    // Whatever it fetches, the answers come with their notarizations.
    outs.push(restarted.at(4 * VIEW + 2).message(1, { type: 'block', block: x, votes: quorumOf(x), ancestors: [] }));
    expect(outs.flatMap(votesIn)).toEqual([]);
    // ...and it does vote in view 5 for a block on y: it stands on its persisted chain.
    restarted.at(5 * VIEW).timer();
    const v = block(y, 5, 1);
    const out = restarted.at(5 * VIEW + 1).message(1, proposal(v));
    expect(votesIn(out).map((s) => s.view)).toEqual([5]);
  });

  test('never votes twice in a view, and a restarted leader never proposes twice in one', () => {
    const before = votedOnY();
    const again = driven(new Streamlet(config(3, leaders, lastPersist(before.outs))));
    again.at(3 * VIEW + 2).start();
    // The same view's proposal arrives again (an echo): no second vote.
    expect(votesIn(again.at(3 * VIEW + 3).message(0, proposal(z)))).toEqual([]);

    // Replica 3 leads view 5: it proposes, crashes right after, and the runtime fires the view-5 timer again.
    const leads5 = [0, 0, 1, 2, 0, 3];
    const leader = driven(new Streamlet(config(3, leads5, lastPersist(before.outs))));
    leader.at(4 * VIEW + 3).start();
    const first = leader.at(5 * VIEW).timer();
    expect(sent(first).filter((m) => m.type === 'proposal')).toHaveLength(1);
    const restarted = driven(new Streamlet(config(3, leads5, lastPersist(leader.outs))));
    restarted.at(5 * VIEW).start();
    expect(sent(restarted.at(5 * VIEW).timer()).filter((m) => m.type === 'proposal')).toEqual([]);
  });

  test('a whole cluster restarting at once, standing on a notarized chain above its finalized tip, restores it from its safety states and goes on', () => {
    // Found by the generated restarts: nobody holds the chain in memory any more; each replica has its bodies and notarization.
    const restarts = [0, 5, 2, 4, 1, 3].map((replica) => ({ replica, at: 64, downFor: 0 }));
    const r = simulate({ protocol, n: 6, seed: 1308776223, network: fixedDelay(0), timing: { delta: DELTA }, duration: 820, restarts: [...restarts, { replica: 1, at: 0, downFor: 1, prefix: 0 }], trace: false });
    expect(r.safetyViolation).toBeUndefined();
    expect(r.doubleSigns).toEqual([]);
    for (const x of r.replicas) expect(x.commitTimes.filter((t) => t > 442).length).toBeGreaterThan(10);
  });

  test('after a long absence it catches up a run of blocks per round trip (answers carry ancestors)', () => {
    // Down for 60 views: about 60 blocks behind. One block per round trip would take about 60 round trips.
    const back = 200 + 60 * VIEW;
    const r = simulate({ protocol, n: 4, seed: 2, network: fixedDelay(DELTA), timing: { delta: DELTA }, duration: back + 40 * VIEW, restarts: [{ replica: 3, at: 200, downFor: 60 * VIEW }], trace: false });
    expect(r.safetyViolation).toBeUndefined();
    const others = r.replicas[0]!;
    const heightAtReturn = others.commitTimes.filter((t) => t <= back).length;
    const caughtUpAt = r.replicas[3]!.commitTimes[heightAtReturn - 1]!;
    expect(heightAtReturn).toBeGreaterThan(40);
    expect(caughtUpAt - back).toBeLessThan(12 * VIEW);
  });

  test('the state it persists is bounded: a run four times as long persists no more', () => {
    const run = (views: number) => simulate({ protocol, n: 4, seed: 3, network: fixedDelay(5), timing: { delta: DELTA }, duration: views * VIEW, transactions: { every: 10, perBatch: 3 }, trace: false });
    const short = Math.max(...run(40).replicas.map((x) => x.maxPersistedBytes));
    const long = Math.max(...run(160).replicas.map((x) => x.maxPersistedBytes));
    expect(short).toBeGreaterThan(0);
    expect(long).toBeLessThanOrEqual(short * 1.5 + 1024);
  });
});

describe('item 7: a view that notarized nothing makes a replica gossip its longest notarization', () => {
  test('a replica that missed the votes of the tip learns it from the gossip, and leads on it', () => {
    const leaders = [0, 0, 1, 2];
    const x = block(GENESIS, 1, 0);
    // Replica 3 saw x notarized; replica 2, the leader of view 3, saw the proposal only (the votes to it were lost).
    const ahead = driven(new Streamlet(config(3, leaders)));
    const behind = driven(new Streamlet(config(2, leaders)));
    for (const d of [ahead, behind]) {
      d.at(0).start();
      d.at(VIEW).timer();
      d.at(VIEW + 1).message(0, proposal(x));
      d.at(2 * VIEW).timer(); // view 2's leader is silent
    }
    for (const v of quorumOf(x, [0, 1, 3])) ahead.at(VIEW + 2).message(v.signer, { type: 'vote', vote: v });
    // View 2 notarized nothing: at view 3 replica 3 gossips x's notarization, once.
    const gossip = sent(ahead.at(3 * VIEW).timer()).filter((m) => m.type === 'notarization');
    expect(gossip).toHaveLength(1);
    behind.at(3 * VIEW).message(3, gossip[0]!);
    const proposed = sent(behind.at(3 * VIEW).timer()).filter((m) => m.type === 'proposal');
    expect(proposed.map((m) => m.type === 'proposal' && m.block.parentId)).toEqual([x.id]);
  });
});

describe('item 8: a fetch stays open until an answer proves what was asked', () => {
  const leaders = [0, 0, 1];
  const x = block(GENESIS, 1, 0);
  const y = block(x, 2, 1);
  function missedX() {
    const d = driven(new Streamlet(config(3, leaders)));
    d.at(0).start();
    d.at(VIEW).timer();
    d.at(2 * VIEW).timer();
    const out = d.at(2 * VIEW + 1).message(1, proposal(y));
    expect(sent(out).filter((m) => m.type === 'fetch')).toHaveLength(1);
    // A Byzantine peer answers first: the block, its votes withheld.
    const stripped = protocol.byzantine!.corruptAnswer!({ type: 'block', block: x, votes: quorumOf(x), ancestors: [] }, signers[0]!, 0)!;
    expect(votesIn(d.at(2 * VIEW + 2).message(0, stripped))).toEqual([]);
    return d;
  }

  test('a later honest answer with the notarization is still taken (the old replica had closed the fetch at the first answer)', () => {
    const d = missedX();
    const out = d.at(2 * VIEW + 3).message(2, { type: 'block', block: x, votes: quorumOf(x), ancestors: [] });
    expect(votesIn(out).map((v) => v.view)).toEqual([2]);
  });

  test('without one, it asks everyone again at the next view', () => {
    const d = missedX();
    const again = sent(d.at(3 * VIEW).timer()).filter((m) => m.type === 'fetch');
    expect(again).toHaveLength(1);
  });

  test('an answer with another block than asked for is ignored', () => {
    const d = driven(new Streamlet(config(3, leaders)));
    d.at(0).start();
    d.at(2 * VIEW).timer();
    d.at(2 * VIEW + 1).message(1, proposal(y));
    const wrong = protocol.byzantine!.corruptAnswer!({ type: 'block', block: x, votes: [], ancestors: [] }, signers[0]!, 0)!;
    expect(wrong.type === 'block' && wrong.block.id).not.toBe(x.id);
    d.at(2 * VIEW + 2).message(0, wrong);
    expect(votesIn(d.at(2 * VIEW + 3).message(2, { type: 'block', block: x, votes: quorumOf(x), ancestors: [] })).map((v) => v.view)).toEqual([2]);
  });
});

describe('item 9: every message delayed exactly d, for each d from 0 to delta', () => {
  test.each([0, 1, DELTA - 1, DELTA])('fixed delay %i ms: a block finalized in every liveness bound', (d) => {
    const r = simulate({ protocol, n: 4, seed: 1, network: fixedDelay(d), timing: { delta: DELTA }, duration: 100 * VIEW, trace: false });
    const bound = protocol.livenessBound({ delta: DELTA }, 4);
    expect(r.safetyViolation).toBeUndefined();
    for (const x of r.replicas) {
      expect(x.ledger.length).toBeGreaterThanOrEqual(90);
      for (let w = bound; w + bound <= 100 * VIEW; w += bound) expect(x.commitTimes.some((t) => t >= w && t < w + bound)).toBe(true);
    }
  });
});

describe('item 10: a flood of validly signed far-future messages', () => {
  // Replica 0 is Byzantine: copies of its proposal and vote for views ever further ahead, signed.
  function flood(count: number) {
    const d = driven(new Streamlet(config(1, [])));
    d.at(0).start();
    const base = block(GENESIS, 1, 0);
    const hooks = protocol.byzantine!;
    let echoed = 0;
    for (let k = 0; k < count; k++) {
      const original: StreamletMessage = k % 2 === 0 ? proposal(base) : { type: 'vote', vote: vote(base, 0) };
      const far = hooks.farFuture!(original, signers[0]!, 0, 100 + 7 * k)!;
      echoed += sent(d.at(1 + (k % VIEW)).message(0, far)).length;
    }
    return { echoed, footprint: d.r.footprint() };
  }

  test.each([2_000, 20_000])('%i messages: nothing kept or echoed beyond a fixed bound, every one counted as dropped', (count) => {
    const { echoed, footprint } = flood(count);
    expect(echoed).toBe(0);
    expect(footprint.retained).toBeLessThanOrEqual(16);
    expect(footprint.dropped).toBe(count);
  });

  test('inside the window, at most two statements per signer and view are kept', () => {
    const d = driven(new Streamlet(config(1, [])));
    d.at(0).start();
    for (let k = 0; k < 1_000; k++) {
      const fake = makeBlock({ parent: GENESIS.hash, height: 1, view: 2, proposer: 0, payload: [new Uint8Array([k & 0xff, k >> 8])] });
      d.at(1).message(0, { type: 'vote', vote: vote(fake, 0) });
    }
    expect(d.r.footprint().retained).toBe(2);
  });
});

describe('votes(): every signed statement a message carries', () => {
  test('a proposal is its leader statement; notarizations and answers carry their votes', () => {
    const x = block(GENESIS, 1, 2);
    const p = proposal(x);
    expect(protocol.votes(p)).toEqual([{ domain: Domains.proposal, view: 1, sequence: 0, blockHash: x.hash, signer: 2, signature: p.type === 'proposal' ? p.signature : undefined }]);
    const votes = quorumOf(x);
    expect(protocol.votes({ type: 'block', block: x, votes, ancestors: [] })).toEqual(votes);
    expect(protocol.votes({ type: 'notarization', view: 1, blockHash: x.hash, votes })).toEqual(votes);
    expect(protocol.votes({ type: 'fetch', blockHash: x.hash, height: 1, after: 0 })).toEqual([]);
    const wire = protocol.decodeMessage(protocol.encodeMessage({ type: 'notarization', view: 1, blockHash: x.hash, votes }));
    expect(protocol.votes(wire)).toEqual(votes);
    const y = block(x, 2, 1);
    const answer = protocol.decodeMessage(protocol.encodeMessage({ type: 'block', block: y, votes: quorumOf(y), ancestors: [x] }));
    expect(answer.type === 'block' && [answer.block.id, ...answer.ancestors.map((a) => a.id)]).toEqual([y.id, x.id]);
    expect(protocol.votes(answer)).toEqual(quorumOf(y));
  });
});

// Outside attack F5: a Byzantine leader's validly signed proposals on fabricated chains (hundreds of
// blocks hanging from genesis, served to whoever fetches them, with no votes) made every honest
// replica fetch and keep them: its block tree grew without bound, never pruned, and footprint() did
// not count it. Now a fetched block enters only when a notarization vouches for it, the tree is cut
// at each finalized tip (final blocks are the runtime's: ProtocolConfig.finalized), and footprint()
// counts the blocks not yet final.
import { GENESIS, Ledger, makeBlock, type Block, type ProtocolOutput } from '@bftx/consensus';
import { toHex, utf8 } from '@bftx/crypto';
import { Streamlet, type StreamletMessage } from '../src/index';
import { DELTA, proposal, scheme, signedVote, signers, validators, VIEW } from './fixtures';

const BYZANTINE = 3;

const vote = (b: Block, by: number): StreamletMessage => ({ type: 'vote', vote: signedVote(b, by) });

test('a Byzantine leader floods fabricated chains: none enters the tree, each is counted as dropped, and what is held stays bounded while the chain grows', () => {
  const views = 160;
  // Leaders 1, 2, 1 (three honest views in a row finalize), then the Byzantine replica 3.
  const leaders = Array.from({ length: views + 2 }, (_, e) => [1, 2, 1, BYZANTINE][e % 4]!);
  const ledger = new Ledger();
  const r = new Streamlet({ self: 0, validators, scheme, signer: signers[0]!, timing: { delta: DELTA }, leaderSchedule: leaders, finalized: ledger });
  const fabricated = new Map<string, Block>();
  let salt = 0;
  const fabricate = (view: number): Block => {
    let parent: Block = GENESIS;
    for (let i = 0; i < 200; i++) {
      parent = makeBlock({ parent: parent.hash, height: parent.height + 1, view: 0, proposer: BYZANTINE, payload: [utf8(`fabricated-${salt++}`)] });
      fabricated.set(parent.id, parent);
    }
    return makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: BYZANTINE, payload: [] });
  };
  let maxRetained = 0;
  /** Feeds an input, answers every fetch with the fabricated chain (the Byzantine peer answers first), and commits what is final. */
  const feed = (input: Parameters<Streamlet['step']>[0]) => {
    const queue = [input];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const out: ProtocolOutput<StreamletMessage>[] = r.step(next);
      for (const o of out) {
        if (o.type === 'commit') ledger.extend(o.blocks);
        if ((o.type === 'broadcast' || o.type === 'send') && o.message.type === 'fetch') {
          const x = fabricated.get(toHex(o.message.blockHash));
          if (x === undefined) continue;
          const ancestors: Block[] = [];
          for (let a = fabricated.get(x.parentId); a !== undefined && ancestors.length < 16; a = fabricated.get(a.parentId)) ancestors.push(a);
          queue.push({ type: 'message', from: BYZANTINE, message: { type: 'block', block: x, votes: [], ancestors }, now: next.now });
        }
      }
      maxRetained = Math.max(maxRetained, r.footprint().retained);
    }
  };
  feed({ type: 'start', now: 0 });
  let tip: Block = GENESIS;
  for (let e = 1; e <= views; e++) {
    const now = e * VIEW;
    feed({ type: 'timer', timer: 'view', now });
    const leader = leaders[e]!;
    if (leader === BYZANTINE) {
      // Two proposals (the second proves equivocation), each on a chain of 200 fabricated blocks.
      feed({ type: 'message', from: BYZANTINE, message: proposal(fabricate(e)), now: now + 1 });
      feed({ type: 'message', from: BYZANTINE, message: proposal(fabricate(e)), now: now + 2 });
      continue;
    }
    const b = makeBlock({ parent: tip.hash, height: tip.height + 1, view: e, proposer: leader, payload: [utf8(`tx-${e}`)] });
    feed({ type: 'message', from: leader, message: proposal(b), now: now + 1 });
    for (const by of [1, 2]) feed({ type: 'message', from: by, message: vote(b, by), now: now + 2 });
    tip = b;
  }
  expect(ledger.height).toBeGreaterThan(views / 2);
  const { retained, dropped } = r.footprint();
  // Fabricated blocks refused and counted (about 17 per answer, several answers per proposal).
  expect(dropped).toBeGreaterThan(1_000);
  // What it holds does not grow with the flood: a few blocks above the final tip, the window's
  // proposals and votes, open fetches (at most 64) and blocks waiting for a parent.
  expect(maxRetained).toBeLessThan(200);
  expect(retained).toBeLessThan(200);
});

test('footprint() counts the blocks not yet final, and no longer once they are final', () => {
  // Before GST, say: only odd views notarize (the even ones' leader is silent), 30 blocks stand notarized and none is final.
  const leaders = Array.from({ length: 70 }, (_, e) => (e <= 60 && e % 2 === 0 ? BYZANTINE : [1, 2][e % 2]!));
  const ledger = new Ledger();
  const r = new Streamlet({ self: 0, validators, scheme, signer: signers[0]!, timing: { delta: DELTA }, leaderSchedule: leaders, finalized: ledger });
  r.step({ type: 'start', now: 0 });
  let tip: Block = GENESIS;
  const heldAt: number[] = [];
  for (let e = 1; e <= 64; e++) {
    r.step({ type: 'timer', timer: 'view', now: e * VIEW });
    heldAt[e] = r.footprint().retained;
    if (leaders[e] === BYZANTINE) continue;
    const b = makeBlock({ parent: tip.hash, height: tip.height + 1, view: e, proposer: leaders[e]!, payload: [] });
    for (const m of [proposal(b), vote(b, 1), vote(b, 2)]) for (const o of r.step({ type: 'message', from: 1, message: m, now: e * VIEW + 1 })) if (o.type === 'commit') ledger.extend(o.blocks);
    tip = b;
  }
  // At view 61: 30 notarized blocks, none final, all held (the window's proposals and votes are fewer: 8 views).
  expect(heldAt[61]!).toBeGreaterThanOrEqual(30);
  // Views 61-63 notarize in a row: everything up to block 32 is final, and no longer held.
  expect(ledger.height).toBeGreaterThanOrEqual(32);
  expect(r.footprint().retained).toBeLessThan(heldAt[61]!);
});

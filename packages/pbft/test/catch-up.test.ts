// Issue 15, item 6: a replica that fell behind keeps fetching, range after range (an answer holds at
// most 64 batches), asking another peer on a timer while it stays behind, until it has executed
// what the others did. Before, it fetched once per stable checkpoint adopted: more than 64 batches
// behind, and with f replicas crashed (its checkpoint signature needed to move the watermarks), the
// cluster halted for good.
import { simulate, synchronous } from '@bftx/sim';
import { Ledger, makeBlock, signStatement, type ProtocolOutput } from '@bftx/consensus';
import { utf8 } from '@bftx/crypto';
import { decodePbftMessage, encodePbftMessage, encodeSafetyState, MAX_HEADERS, nullBatch, PbftDomains, pbft, type CheckpointProof, type CommittedBatch, type PbftMessage } from '../src/index';
import { clusterKeys, replicaConfig } from './helpers';

const DELTA = 10;
const BACK = 2550;

/** Replica n-1 down from 50 to 2550 while the others execute about 100 batches; f others crash at 2000. */
function farBehind(n: number, seed: number, byzantineAnswers = false) {
  const f = Math.floor((n - 1) / 3);
  const crashed = Array.from({ length: f }, (_, i) => ({ replica: i + 1, strategy: { kind: 'crash' as const, at: 2000 } }));
  return {
    protocol: pbft(),
    n,
    seed,
    network: synchronous(DELTA),
    timing: { delta: DELTA },
    duration: 6000,
    // With Byzantine answers the f Byzantine replicas answer fetches wrongly instead of crashing.
    byzantine: byzantineAnswers ? crashed.map((b) => ({ replica: b.replica, strategy: { kind: 'bad-fetch-answers' as const } })) : crashed,
    restarts: [{ replica: n - 1, at: 50, downFor: BACK - 50 }],
    transactions: { every: 10, perBatch: 2 },
    trace: false,
  };
}

describe('pbft catch-up', () => {
  test.each([4, 7, 10])('n = %i: a replica about 100 batches behind catches up although answers hold 64, and the cluster, needing it, goes on', (n) => {
    const r = simulate(farBehind(n, n));
    expect(r.safetyViolation).toBeUndefined();
    const honest = r.replicas.filter((x) => x.honest);
    const lagging = honest.find((x) => x.validator === n - 1)!;
    expect(lagging.commitTimes.filter((t) => t < BACK).length).toBeLessThan(5);
    expect(Math.min(...honest.map((x) => x.commitTimes.filter((t) => t > BACK + 1000).length))).toBeGreaterThan(50);
    expect(Math.max(...honest.map((x) => x.finalized)) - lagging.finalized).toBeLessThanOrEqual(4);
    expect(r.messagesByKind.committed).toBeGreaterThanOrEqual(2);
  });

  test('Byzantine peers answering fetches with commits withheld or other batches: the replica asks others and catches up', () => {
    const r = simulate(farBehind(7, 3, true));
    expect(r.safetyViolation).toBeUndefined();
    expect(r.doubleSigns).toEqual([]);
    const honest = r.replicas.filter((x) => x.honest);
    expect(Math.max(...honest.map((x) => x.finalized)) - Math.min(...honest.map((x) => x.finalized))).toBeLessThanOrEqual(4);
    expect(Math.min(...honest.map((x) => x.finalized))).toBeGreaterThan(150);
  });

  test('answers are bounded (64 batches) and a peer asking again and again is answered a few times in a burst, then once per delta', () => {
    const keys = clusterKeys(4);
    const server = pbft().create(replicaConfig(keys, 0));
    server.step({ type: 'start', now: 0 });
    // 100 committed batches, each with a quorum of commits, reach the server as answers to its own fetches.
    const committed = (sequence: number): CommittedBatch => {
      const batch = nullBatch(0, sequence, 0);
      return { batch, commits: [0, 1, 2].map((i) => signStatement(keys.signers[i]!, i, PbftDomains.commit, { view: 0, sequence, blockHash: batch.hash })) };
    };
    for (let from = 1; from <= 100; from += 50) server.step({ type: 'message', from: 1, message: { type: 'committed', batches: Array.from({ length: 50 }, (_, i) => committed(from + i)) }, now: 1 });
    const answers = (out: readonly ProtocolOutput<PbftMessage>[]) => out.flatMap((o) => (o.type === 'send' && o.message.type === 'committed' ? [o.message.batches.length] : []));
    const ask = (now: number) => answers(server.step({ type: 'message', from: 2, message: { type: 'fetch', fromSequence: 1 }, now }));
    expect(ask(10)).toEqual([64]);
    expect([ask(10), ask(10), ask(10), ask(10), ask(10)]).toEqual([[64], [64], [64], [], []]);
    expect(ask(20)).toEqual([64]);
    expect(ask(20)).toEqual([]);
    expect(answers(server.step({ type: 'message', from: 2, message: { type: 'fetch', fromSequence: 65 }, now: 40 }))).toEqual([36]);
  });
});

// Outside attack P1: every peer restarted (each holds in memory only its last L executed batches,
// with their commits) while a replica was far behind. The older batches come from the peers'
// finalized chains (ProtocolConfig.finalized), without commits: the replica takes them only linked
// by hashes to a stable checkpoint (a quorum of checkpoint signatures) or to a point already proven.
describe('pbft catch-up from finalized chains', () => {
  const S = 5000; // more than MAX_HEADERS + 64 behind: the replica first walks down from the checkpoint
  const keys = clusterKeys(4);
  const chain = new Ledger();
  for (let h = 1; h <= S; h++) chain.extend([makeBlock({ parent: chain.tip.hash, height: h, view: 0, proposer: h % 4, payload: [utf8(`tx-${h}`)] })]);
  const proof: CheckpointProof = { sequence: S, digest: chain.at(S)!.hash, statements: [0, 1, 2].map((i) => signStatement(keys.signers[i]!, i, PbftDomains.checkpoint, { view: 0, sequence: S, blockHash: chain.at(S)!.hash })) };
  /** A peer restarted with nothing of its history in memory: it has only its ledger. */
  const restartedPeer = () => {
    const safetyState = encodeSafetyState({ view: 0, inViewChange: false, stable: proof, lastExecuted: S, ledgerTip: chain.tip.hash, nextSequence: S + 1, prepared: [], executed: [], signed: [] });
    const peer = pbft().create(replicaConfig(keys, 0, { safetyState, finalized: chain }));
    peer.step({ type: 'start', now: 0 });
    return peer;
  };
  const sends = (out: readonly ProtocolOutput<PbftMessage>[]) => out.flatMap((o) => (o.type === 'send' ? [o.message] : []));

  test('a replica 5,000 batches behind catches up in bounded rounds of bounded answers, and refuses answers that do not link', () => {
    const peer = restartedPeer();
    const lagging = pbft().create(replicaConfig(keys, 3));
    const ledger = new Ledger();
    const take = (out: readonly ProtocolOutput<PbftMessage>[]) => {
      for (const o of out) if (o.type === 'commit') ledger.extend(o.blocks);
      return sends(out).filter((m) => m.type === 'fetch');
    };
    take(lagging.step({ type: 'start', now: 0 }));
    // f+1 checkpoints at S: an honest replica executed up to S.
    let fetches: PbftMessage[] = [];
    for (const i of [0, 1]) fetches = [...fetches, ...take(lagging.step({ type: 'message', from: i, message: { type: 'checkpoint', statement: proof.statements[i]! }, now: 1 }))];
    const corrupt = pbft().byzantine!.corruptAnswer!;
    let now = 1;
    let rounds = 0;
    let maxBytes = 0;
    let headersOnly = 0;
    while (ledger.height < S && rounds < 200) {
      rounds++;
      now += 10;
      if (fetches.length === 0) fetches = take(lagging.step({ type: 'timer', timer: 'fetch', now }));
      const answers = fetches.flatMap((m) => sends(peer.step({ type: 'message', from: 3, message: m, now })));
      fetches = [];
      for (const a of answers) {
        expect(a.type).toBe('final');
        if (a.type !== 'final') continue;
        maxBytes = Math.max(maxBytes, encodePbftMessage(a).length);
        expect(a.blocks.length).toBeLessThanOrEqual(64);
        expect(a.headers.length).toBeLessThanOrEqual(MAX_HEADERS);
        if (a.blocks.length === 0) headersOnly++;
        // The same answer with a block replaced, or with a header's link broken: refused, nothing executed or asked.
        const bad = [corrupt(a, keys.signers[0]!, 0), a.headers.length > 1 ? { ...a, headers: [a.headers[0]!, { ...a.headers[1]!, parent: a.headers[0]!.parent }, ...a.headers.slice(2)] } : undefined];
        for (const b of bad) if (b !== undefined) expect(take(lagging.step({ type: 'message', from: 0, message: decodePbftMessage(encodePbftMessage(b)), now }))).toEqual([]);
        const before = ledger.height;
        fetches = take(lagging.step({ type: 'message', from: 0, message: decodePbftMessage(encodePbftMessage(a)), now }));
        expect(ledger.height >= before).toBe(true);
      }
    }
    expect(ledger.height).toBe(S);
    expect(ledger.tip.hash).toEqual(chain.tip.hash);
    expect(headersOnly).toBe(1); // one step down from the checkpoint (4,096 headers), then blocks up
    expect(rounds).toBeLessThanOrEqual(Math.ceil(S / 64) + 4);
    expect(maxBytes).toBeLessThan(400_000);
  });

  test('an answer whose checkpoint proof lacks a quorum is refused', () => {
    const peer = restartedPeer();
    const lagging = pbft().create(replicaConfig(keys, 3));
    lagging.step({ type: 'start', now: 0 });
    const [answer] = sends(peer.step({ type: 'message', from: 3, message: { type: 'fetch', fromSequence: 1 }, now: 1 }));
    expect(answer?.type).toBe('final');
    if (answer?.type !== 'final') return;
    expect([answer.blocks.length, answer.headers.length]).toEqual([0, MAX_HEADERS]); // too far below the checkpoint: headers only
    const weak = { ...answer, proof: { ...proof, statements: proof.statements.slice(0, 2) } };
    expect(sends(lagging.step({ type: 'message', from: 0, message: weak, now: 2 }))).toEqual([]);
    // With the quorum, the replica adopts the checkpoint and asks for what lies below the headers.
    expect(sends(lagging.step({ type: 'message', from: 0, message: answer, now: 3 })).map((m) => m.type)).toContain('fetch');
  });
});

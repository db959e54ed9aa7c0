// The machinery every protocol shares: tallies, quorum collection, the fetcher, leader schedules,
// the outbox, the payload policy, finalize-and-commit and the one driver.
import { Domains, utf8 } from '@bftx/crypto';
import {
  BlockFetcher,
  collectQuorum,
  commitChain,
  dispatch,
  drive,
  FifoPayloadPolicy,
  RECENT_FINAL_BLOCKS,
  txKey,
  GENESIS,
  hashedLeader,
  leaderSchedule,
  makeBlock,
  Outbox,
  refinalized,
  resolveConfig,
  roundRobin,
  signStatement,
  SimulatedSignatureScheme,
  StatementVerifier,
  ValidatorSet,
  VoteTally,
  type Block,
  type Protocol,
  type ProtocolInput,
  type ProtocolOutput,
} from '../src/index';

function cluster(n: number) {
  const scheme = new SimulatedSignatureScheme();
  const signers = Array.from({ length: n }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
  const validators = new ValidatorSet(signers.map((s) => s.publicKey));
  return { scheme, signers, validators, verifier: new StatementVerifier(validators, scheme) };
}

const child = (parent: Block, view: number, tag = 0): Block => makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: 0, payload: [Uint8Array.of(tag)] });

describe('VoteTally', () => {
  test.each([4, 5, 6, 7, 10])('n = %i: reaches the quorum from the validator set at exactly that many distinct verified signers', (n) => {
    const c = cluster(n);
    const tally = new VoteTally<string>(c.verifier);
    expect(tally.threshold).toBe(c.validators.threshold('quorum'));
    const b = child(GENESIS, 1);
    const results = c.signers.map((s, i) => tally.add('b', signStatement(s, i, Domains.vote, { view: 1, sequence: 0, blockHash: b.hash })));
    expect(results.indexOf('reached')).toBe(c.validators.quorum - 1);
    expect(results.filter((r) => r === 'reached')).toHaveLength(1);
    expect(tally.reached('b')).toBe(true);
    expect(tally.count('b')).toBe(n);
  });
  test('a signer counts once; a bad signature is refused and not counted', () => {
    const c = cluster(4);
    const tally = new VoteTally<string>(c.verifier, 'one-honest');
    const s = signStatement(c.signers[0]!, 0, Domains.vote, { view: 1, sequence: 0, blockHash: GENESIS.hash });
    expect(tally.add('k', s)).toBe('counted');
    expect(tally.add('k', s)).toBe('duplicate');
    expect(tally.add('k', { ...s, signer: 1 })).toBe('bad-signature');
    expect(tally.add('k', { ...s, signer: 99 })).toBe('bad-signature');
    expect(tally.count('k')).toBe(1);
    const t = signStatement(c.signers[2]!, 2, Domains.vote, { view: 1, sequence: 0, blockHash: GENESIS.hash });
    expect(tally.add('k', t)).toBe('reached'); // f + 1 = 2
    tally.prune((k) => k === 'k');
    expect(tally.size).toBe(0);
  });
});

describe('collectQuorum', () => {
  test('only matching statements of distinct signers with good signatures count', () => {
    const c = cluster(4);
    const b = child(GENESIS, 1);
    const good = c.signers.map((s, i) => signStatement(s, i, Domains.vote, { view: 1, sequence: 0, blockHash: b.hash }));
    const expected = { domain: Domains.vote, view: 1, sequence: 0, blockHash: b.hash };
    expect(collectQuorum(good, expected, c.verifier)).toHaveLength(3);
    // Two copies of one signer, a bad signature and a vote for another view do not make a quorum.
    const bad = [good[0]!, good[0]!, { ...good[1]!, signature: new Uint8Array(64) }, signStatement(c.signers[2]!, 2, Domains.vote, { view: 2, sequence: 0, blockHash: b.hash }), good[3]!];
    expect(collectQuorum(bad, expected, c.verifier)).toBeUndefined();
    expect(collectQuorum(good, { ...expected, blockHash: GENESIS.hash }, c.verifier)).toBeUndefined();
  });
});

describe('BlockFetcher', () => {
  test('asks once, asks again after retryAfter until maxAttempts, and stays bounded', () => {
    const f = new BlockFetcher<string>({ maxOutstanding: 2, maxAttempts: 3, retryAfter: 10 });
    expect(f.ask('a', 'req-a', 0)).toBe('req-a');
    expect(f.ask('a', 'req-a', 1)).toBeUndefined();
    expect(f.due(5)).toEqual([]);
    expect(f.due(10)).toEqual(['req-a']);
    expect(f.due(20)).toEqual(['req-a']);
    expect(f.due(30)).toEqual([]); // three attempts: given up
    expect(f.isOpen('a')).toBe(false);
    f.ask('b', 'b', 0);
    f.ask('c', 'c', 0);
    f.ask('d', 'd', 0);
    expect(f.size).toBe(2);
    expect(f.isOpen('b')).toBe(false); // the oldest went first
    expect(f.due(100, (id) => id === 'c')).toEqual(['d']);
    f.resolve('d');
    expect(f.size).toBe(0);
  });
});

describe('BlockFetcher with a priority', () => {
  test('when full, drops the lowest priority first (and refuses a request lower than all); re-asks after retryAfter or when forced; forgets on demand', () => {
    type Req = { view: number; height: number | undefined };
    const f = new BlockFetcher<Req>({ maxOutstanding: 2, maxAttempts: Infinity, retryAfter: 20, priority: (r) => r.view });
    expect(f.ask('a', { view: 5, height: undefined }, 0)).toBeDefined();
    expect(f.ask('b', { view: 3, height: undefined }, 0)).toBeDefined();
    expect(f.ask('c', { view: 1, height: undefined }, 0)).toBeUndefined(); // lower than every open one
    expect(f.ask('d', { view: 4, height: undefined }, 0)).toBeDefined(); // drops b (view 3)
    expect(f.requests().map((r) => r.view)).toEqual([5, 4]);
    f.get('a')!.height = 9; // learned later: the same object
    expect(f.get('a')).toEqual({ view: 5, height: 9 });
    expect(f.again('a', { view: 6, height: 9 }, 10)).toBeUndefined(); // asked 10 ms ago
    expect(f.get('a')!.view).toBe(5);
    expect(f.again('a', { view: 6, height: 9 }, 10, true)).toEqual({ view: 6, height: 9 });
    expect(f.again('a', { view: 6, height: 9 }, 29)).toBeUndefined();
    expect(f.again('a', { view: 7, height: 9 }, 30)).toEqual({ view: 7, height: 9 });
    expect(f.again('zz', { view: 7, height: 9 }, 30)).toBeUndefined(); // not open
    f.forget((_id, r) => r.view <= 4);
    expect([...f.requests().map((r) => r.view)]).toEqual([7]);
  });
});

describe('leader schedules', () => {
  test('round robin, the hashed rule, and a configured schedule first', () => {
    const c = cluster(4);
    expect([0, 1, 2, 3, 4].map((v) => roundRobin(v, 4))).toEqual([0, 1, 2, 3, 0]);
    const hashed = Array.from({ length: 40 }, (_, v) => hashedLeader(v, 4));
    expect(new Set(hashed).size).toBe(4);
    expect(hashed.every((l) => l >= 0 && l < 4)).toBe(true);
    const leaderOf = leaderSchedule({ validators: c.validators, leaderSchedule: [3, 3] }, roundRobin);
    expect([0, 1, 2, 3].map(leaderOf)).toEqual([3, 3, 2, 3]);
  });
});

describe('payload policy and finality', () => {
  test('first in, first out, never what the chain being extended holds, never what is final', () => {
    const p = new FifoPayloadPolicy();
    const txs = [1, 2, 3, 4].map((i) => utf8(`tx${i}`));
    p.offer(txs, 0);
    const ctx = { view: 1, height: 1, now: 0, pending: new Set<string>() };
    expect(p.build(ctx, 2)).toEqual(txs.slice(0, 2));
    expect(p.validate(txs, ctx)).toEqual({ ok: true });
    const b = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: txs.slice(0, 3) });
    const out = new Outbox<string>();
    commitChain(out, [b], p);
    expect(p.size).toBe(1);
    expect(out.take()).toEqual([{ type: 'trace', event: { kind: 'finalize', block: b.id, height: 1, view: 1 } }, { type: 'commit', blocks: [b] }]);
    // Finding a block final again: nothing if it is the same, handed to the ledger if it conflicts.
    refinalized(out, b, { height: 1, at: () => b }, () => undefined);
    expect(out.take()).toEqual([]);
    const other = child(GENESIS, 1, 9);
    refinalized(out, other, { height: 1, at: () => b }, () => undefined);
    expect(out.take()).toEqual([{ type: 'commit', blocks: [other] }]);
  });
  // Found by the replica fault run (CI, seed 525765562): a replica catching up committed a block,
  // then admitted one of its transactions again (its exchange had not applied the block yet) and,
  // leading, proposed it a second time. Final transactions are now remembered, and voters refuse repeats.
  test('a transaction offered again after it is final is not proposed again; repeats are refused', () => {
    const p = new FifoPayloadPolicy();
    const txs = [1, 2, 3, 4].map((i) => utf8(`tx${i}`));
    const none = { view: 1, height: 1, now: 0, pending: new Set<string>() };
    p.offer(txs.slice(0, 2), 0);
    commitChain(new Outbox<string>(), [makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: txs.slice(0, 2) })], p);
    p.offer(txs, 1); // the first two again, late
    expect(p.build({ ...none, height: 2 }, 10)).toEqual(txs.slice(2));
    expect(p.validate([txs[2]!, txs[0]!], none)).toEqual({ ok: false, reason: 'transaction 1 is final already' });
    expect(p.validate([txs[2]!, txs[2]!], none)).toEqual({ ok: false, reason: 'transaction 1 repeats an earlier one of the block' });
    expect(p.validate([txs[3]!], { ...none, pending: new Set([txKey(txs[3]!)]) })).toEqual({ ok: false, reason: 'transaction 0 is already on the chain the block extends' });
    // A voter missing part of the chain judges only what it can; a leader missing part of it proposes nothing.
    expect(p.validate([txs[3]!], { ...none, pending: new Set([txKey(txs[3]!)]), pendingComplete: false })).toEqual({ ok: true });
    expect(p.build({ ...none, pendingComplete: false }, 10)).toEqual([]);
    // The memory is bounded: RECENT_FINAL_BLOCKS blocks later, the first block's transactions are forgotten.
    for (let h = 2; h <= RECENT_FINAL_BLOCKS + 1; h++) p.finalized([utf8(`filler${h}`)]);
    expect(p.validate([txs[0]!], none)).toEqual({ ok: true });
  });
  test('resolveConfig fills the same defaults for every protocol', () => {
    const c = cluster(4);
    const r = resolveConfig({ self: 0, validators: c.validators, scheme: c.scheme, signer: c.signers[0]!, timing: { delta: 10 } }, roundRobin);
    expect(r.maxBlockTxs).toBe(1000);
    expect(r.payload.name).toBe('fifo');
    expect(r.leaderOf(5)).toBe(1);
  });
});

describe('dispatch', () => {
  test('routes each kind of input to its handler with what it carries', () => {
    const seen: string[] = [];
    const handlers = {
      start: (now: number) => seen.push(`start@${now}`),
      timer: (t: string, now: number) => seen.push(`timer ${t}@${now}`),
      transactions: (txs: readonly Uint8Array[], now: number) => seen.push(`${txs.length} txs@${now}`),
      message: (m: string, from: number, now: number) => seen.push(`${m} from ${from}@${now}`),
    };
    dispatch<string>({ type: 'start', now: 1 }, handlers);
    dispatch<string>({ type: 'timer', timer: 'view', now: 2 }, handlers);
    dispatch<string>({ type: 'transactions', txs: [utf8('a'), utf8('b')], now: 3 }, handlers);
    dispatch<string>({ type: 'message', message: 'vote', from: 2, now: 4 }, handlers);
    expect(seen).toEqual(['start@1', 'timer view@2', '2 txs@3', 'vote from 2@4']);
  });
});

describe('the one driver', () => {
  test('splits a group of inputs into durable (the last safety state), actions in order, and rejections', () => {
    const out = new Outbox<string>();
    const b = child(GENESIS, 1);
    const protocol: Protocol<string> = {
      self: 0,
      step(input: ProtocolInput<string>): ProtocolOutput<string>[] {
        if (input.type === 'message') {
          if (input.message === 'bad') out.reject('BAD_SIGNATURE', input.from, 'vote');
          else {
            out.persist(utf8(`state-${input.message}`));
            out.broadcast(`vote-${input.message}`);
            out.commit([b]);
          }
        } else out.setTimer('view', input.now + 10);
        return out.take();
      },
    };
    const d = drive(protocol, [
      { type: 'start', now: 0 },
      { type: 'message', from: 1, message: 'a', now: 1 },
      { type: 'message', from: 2, message: 'bad', now: 1 },
      { type: 'message', from: 3, message: 'b', now: 2 },
    ]);
    expect(d.durable.safetyState).toEqual(utf8('state-b'));
    expect(d.durable.persists).toBe(2);
    expect(d.durable.commits).toEqual([b, b]);
    expect(d.actions.map((a) => a.type)).toEqual(['set-timer', 'broadcast', 'broadcast']);
    expect(d.rejections).toEqual([{ type: 'reject', code: 'BAD_SIGNATURE', from: 2, kind: 'vote' }]);
  });
});

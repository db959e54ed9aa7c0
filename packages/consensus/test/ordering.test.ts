import fc from 'fast-check';
import { Domains } from '@bftx/crypto';
import {
  FairOrderingPolicy,
  GENESIS,
  SimulatedSignatureScheme,
  StatementVerifier,
  ValidatorSet,
  encodeLogElement,
  fairOrder,
  makeBlock,
  payloadTransactions,
  signReceiveLog,
  signStatement,
  txDigest,
  unfairProposalEvidence,
  verifyEvidence,
  type LogEntry,
  type PayloadContext,
  type SignedReceiveLog,
} from '../src/index';

function cluster(n: number) {
  const scheme = new SimulatedSignatureScheme();
  const signers = Array.from({ length: n }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
  const validators = new ValidatorSet(signers.map((s) => s.publicKey));
  const policies = signers.map((s, i) => new FairOrderingPolicy(i, validators, scheme, s, 10));
  return { scheme, signers, validators, verifier: new StatementVerifier(validators, scheme), policies };
}

const tx = (k: number) => Uint8Array.of(1, 7, k >> 8, k & 255);
const ctx = (now: number, view = 1): PayloadContext => ({ view, height: 1, now, pending: new Set() });
const entries = (times: ReadonlyArray<[Uint8Array, number]>): LogEntry[] =>
  times.map(([t, time]) => ({ digest: txDigest(t), time })).sort((a, b) => Buffer.compare(Buffer.from(a.digest), Buffer.from(b.digest)));

/** Each replica receives the same transactions at its own times; every replica hears every other's log. */
function exchangeLogs(c: ReturnType<typeof cluster>, now: number) {
  const logs = c.policies.map((p) => p.ownLog(now));
  c.policies.forEach((p, i) => logs.forEach((l, j) => i !== j && p.receiveLog(j, l)));
}

describe('fairOrder', () => {
  test('orders by the (f+1)-th earliest receipt time, ties by digest, and obliges only what f+1 logs name', () => {
    const c = cluster(4); // f = 1
    const [a, b, only] = [tx(1), tx(2), tx(3)];
    const logs: SignedReceiveLog[] = [
      signReceiveLog(c.signers[0]!, 0, 100, entries([[a, 50], [b, 10], [only, 1]])),
      signReceiveLog(c.signers[1]!, 1, 100, entries([[a, 20], [b, 30]])),
      signReceiveLog(c.signers[2]!, 2, 100, entries([[a, 25], [b, 40]])),
    ];
    const order = fairOrder(logs, 1, () => false);
    // a: times 20, 25, 50 -> 25; b: 10, 30, 40 -> 30; `only` is in one log (< f+1): not obliged.
    expect(order.map((o) => o.time)).toEqual([25, 30]);
    expect(order.map((o) => o.key)).toEqual([a, b].map((t) => Buffer.from(txDigest(t)).toString('hex')));
  });

  test('f lying logs cannot reorder two transactions every honest replica received in one order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), // f
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 10, maxLength: 10 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 1, max: 500 }),
        (f, raw, lies, gap) => {
          const n = 3 * f + 1;
          const c = cluster(n);
          const [a, b] = [tx(1), tx(2)];
          const honest = n - f;
          // Every honest replica received a before b: every a-time below every b-time.
          const aTimes = raw.slice(0, honest).map((x) => x % 1000);
          const bTimes = raw.slice(0, honest).map((x) => 1000 + gap + (x % 1000));
          const logs: SignedReceiveLog[] = [];
          // The leader picks n - f logs: all f Byzantine ones and n - 2f honest ones.
          for (let i = 0; i < n - 2 * f; i++) logs.push(signReceiveLog(c.signers[i]!, i, 9000, entries([[a, aTimes[i]!], [b, bTimes[i]!]])));
          for (let j = 0; j < f; j++) {
            const i = n - f + j;
            const lie: Array<[Uint8Array, number]> = [];
            const la = lies[(2 * j) % 6];
            const lb = lies[(2 * j + 1) % 6];
            if (la !== undefined) lie.push([a, la]);
            if (lb !== undefined) lie.push([b, lb === undefined ? 0 : lb % 10]);
            logs.push(signReceiveLog(c.signers[i]!, i, 9000, entries(lie)));
          }
          const order = fairOrder(logs, f, () => false).map((o) => o.key);
          const [ka, kb] = [a, b].map((t) => Buffer.from(txDigest(t)).toString('hex'));
          // Both are named by n - 2f >= f + 1 honest logs: obliged, and a first.
          return order.indexOf(ka!) >= 0 && order.indexOf(ka!) < order.indexOf(kb!);
        },
      ),
      { seed: 18, numRuns: 200 },
    );
  });
});

describe('FairOrderingPolicy', () => {
  function setup() {
    const c = cluster(4);
    const txs = [tx(1), tx(2), tx(3), tx(4)];
    // Replica i receives tx k at 10k + i: the fair order is 1, 2, 3, 4.
    c.policies.forEach((p, i) => txs.forEach((t, k) => p.offer([t], 10 * (k + 1) + i)));
    exchangeLogs(c, 100);
    return { c, txs };
  }

  test('an honest leader builds n-f logs and the fair order; every other replica accepts it', () => {
    const { c, txs } = setup();
    const payload = c.policies[0]!.build(ctx(100), 100);
    expect(payloadTransactions(payload)).toEqual(txs);
    expect(payload.length - txs.length).toBeGreaterThanOrEqual(3);
    for (const p of c.policies.slice(1)) expect(p.validate(payload, ctx(105))).toEqual({ ok: true });
    // A prefix is fine (the leader lacked bytes); an empty block too.
    const logs = payload.slice(0, payload.length - txs.length);
    expect(c.policies[1]!.validate([...logs, txs[0]!, txs[1]!], ctx(105)).ok).toBe(true);
    expect(c.policies[1]!.validate([], ctx(105)).ok).toBe(true);
  });

  test('reordering or inserting is refused and convicts; skipping is refused; stale, too few or forged logs are refused', () => {
    const { c, txs } = setup();
    const payload = c.policies[0]!.build(ctx(100), 100);
    const logs = payload.slice(0, payload.length - txs.length);
    const judge = c.policies[1]!;
    const reordered = judge.validate([...logs, txs[1]!, txs[0]!, txs[2]!, txs[3]!], ctx(105));
    expect(reordered).toMatchObject({ ok: false, convicts: true, reason: expect.stringMatching(/reordered/) });
    const inserted = judge.validate([...logs, tx(99), ...txs], ctx(105));
    expect(inserted).toMatchObject({ ok: false, convicts: true, reason: expect.stringMatching(/inserted/) });
    const skipped = judge.validate([...logs, txs[0]!, txs[2]!], ctx(105));
    expect(skipped).toMatchObject({ ok: false, convicts: false });
    expect(judge.validate(payload, ctx(100 + 81)).ok).toBe(false); // older than 8 delta
    expect(judge.validate([...logs.slice(0, 2), ...txs], ctx(105))).toMatchObject({ ok: false, convicts: true, reason: expect.stringMatching(/n - f/) });
    const forged = { ...signReceiveLog(c.signers[2]!, 2, 100, entries(txs.map((t, k) => [t, k]))), signer: 3 };
    expect(judge.validate([logs[0]!, logs[1]!, encodeLogElement(forged), ...txs], ctx(105)).ok).toBe(false);
    // What is final or on the chain the block extends is not obliged again.
    judge.finalized([txs[0]!]);
    expect(judge.validate([...logs, txs[1]!, txs[2]!], ctx(105)).ok).toBe(true);
    expect(judge.validate([...logs, ...txs], ctx(105)).ok).toBe(false);
  });

  test('a leader that lacks an obliged transaction ends the block before it and asks a peer that logged it', () => {
    const c = cluster(4);
    const [a, b] = [tx(1), tx(2)];
    c.policies.forEach((p, i) => {
      if (i !== 0) p.offer([a], 1 + i);
      p.offer([b], 20 + i);
    });
    exchangeLogs(c, 50);
    const payload = c.policies[0]!.build(ctx(50), 100);
    expect(payloadTransactions(payload)).toEqual([]); // a comes first and replica 0 lacks it
    const asks = c.policies[0]!.missing(50);
    expect([...asks.values()].flat().map((d) => Buffer.from(d).toString('hex'))).toEqual([Buffer.from(txDigest(a)).toString('hex')]);
    const [peer, digests] = [...asks][0]!;
    const answer = c.policies[peer]!.lookup(digests);
    // An unasked, unlogged transaction is not taken.
    expect(c.policies[0]!.answered([...answer, tx(77)], 51)).toEqual({ taken: [a], held: 0, unasked: 1 });
  });
});

describe('FairOrderingPolicy against Byzantine clients and peers (found by an outside review)', () => {
  const big = (k: number) => Uint8Array.of(1, 7, k >> 16, (k >> 8) & 255, k & 255);
  const has = (payload: readonly Uint8Array[], t: Uint8Array) => payloadTransactions(payload).some((x) => Buffer.compare(Buffer.from(x), Buffer.from(t)) === 0);

  test('a client that sends a full log of transactions to one replica each cannot keep later transactions out of every block; the unbacked ones are dropped', () => {
    const c = cluster(4); // replica 3 Byzantine: it sends no log
    let now = 1_000;
    // 1,000 each (a log's cap) to replica 0 only and to replica 1 only: no other log ever names them.
    c.policies[0]!.offer(Array.from({ length: 1_000 }, (_, k) => big(k)), now);
    c.policies[1]!.offer(Array.from({ length: 1_000 }, (_, k) => big(10_000 + k)), now);
    now += 10;
    const y = big(99_999); // an honest client's order, to every replica
    for (const i of [0, 1, 2]) c.policies[i]!.offer([y], now);
    const honest = c.policies.slice(0, 3);
    const exchange = () => {
      const logs = honest.map((p) => p.ownLog(now));
      honest.forEach((p, i) => logs.forEach((l, j) => i !== j && p.receiveLog(j, l)));
    };
    for (let step = 0; step < 3; step++, now += 10) exchange();
    // Within a few deltas every honest leader proposes y (before: never; every log was full of the junk).
    for (const leader of [0, 1, 2]) expect(has(c.policies[leader]!.build(ctx(now), 500), y)).toBe(true);
    for (let step = 0; step < 20; step++, now += 10) exchange();
    expect(c.policies[0]!.evicted).toBe(1_000);
    expect(c.policies[1]!.evicted).toBe(1_000);
    expect(c.policies[0]!.size).toBe(1); // y alone
  });

  test('a transaction backed by f+1 logs is never dropped, however long it waits', () => {
    const c = cluster(4);
    const a = big(1);
    for (const i of [0, 1]) c.policies[i]!.offer([a], 5);
    for (let now = 10; now < 2_000; now += 10) exchangeLogs(c, now);
    expect(c.policies[0]!.evicted).toBe(0);
    expect(c.policies[0]!.size).toBe(1);
  });

  test('a transaction a proposal carried is never dropped, though peers leave it out of their logs while it is in flight', () => {
    const c = cluster(4);
    const a = big(1);
    for (const p of c.policies) p.offer([a], 5);
    exchangeLogs(c, 10);
    const leader = c.policies[0]!;
    const payload = leader.build(ctx(10), 100);
    expect(has(payload, a)).toBe(true);
    // The block is abandoned; the peers hear no more of a (their logs leave it out) while the leader waits 30 delta.
    for (let now = 20; now < 320; now += 10) {
      const own = leader.ownLog(now);
      expect(own).toBeDefined();
      for (const j of [1, 2, 3]) leader.receiveLog(j, signReceiveLog(c.signers[j]!, j, now, []));
    }
    expect(leader.evicted).toBe(0);
    expect(leader.size).toBe(1);
  });

  test('a leader lacking bytes asks another peer that logged them on each retry (a peer that never answers cannot stall it)', () => {
    const c = cluster(4);
    const x = big(1);
    const byz = 3;
    for (const i of [2, byz]) c.policies[i]!.offer([x], 10); // replica 0 lacks x; 2 and the Byzantine 3 have it
    const askedOf = new Set<number>();
    let now = 20;
    for (let attempt = 0; attempt < 4; attempt++, now += 20) {
      exchangeLogs(c, now);
      const asks = c.policies[0]!.missing(now);
      expect([...asks.values()].flat()).toHaveLength(1);
      askedOf.add([...asks.keys()][0]!);
    }
    expect([...askedOf].sort()).toEqual([2, byz]);
  });

  test('a leader that lacks part of the chain it extends proposes nothing (it cannot tell what is on it)', () => {
    const c = cluster(4);
    const x = big(1);
    for (const p of c.policies) p.offer([x], 10);
    exchangeLogs(c, 20);
    expect(has(c.policies[0]!.build(ctx(20), 100), x)).toBe(true);
    expect(c.policies[0]!.build({ ...ctx(21), pendingComplete: false }, 100)).toEqual([]);
  });

  test('a leader carries no peer log signed ahead of its clock by more than half the skew a voter allows: a voter whose clock is behind still accepts', () => {
    const c = cluster(4);
    const x = big(1);
    const t = 10_000;
    for (const i of [0, 1, 2]) c.policies[i]!.offer([x], t - 50);
    exchangeLogs(c, t - 20);
    // The Byzantine replica 3 signs its log a full delta (the voters' skew) ahead of the leader's clock: the freshest, but not carried.
    c.policies[0]!.receiveLog(3, signReceiveLog(c.signers[3]!, 3, t + 10, entries([[x, t - 50]])));
    const payload = c.policies[0]!.build(ctx(t), 100);
    expect(has(payload, x)).toBe(true);
    expect(c.policies[2]!.validate(payload, ctx(t - 1))).toEqual({ ok: true }); // 2 ms behind, 1 ms on the way
  });
});

describe('payloadTransactions', () => {
  test('strips the leading receive logs only: a transaction that starts with a zero byte stays a transaction', () => {
    const c = cluster(4);
    const log = encodeLogElement(signReceiveLog(c.signers[0]!, 0, 5, entries([[tx(1), 1]])));
    const zeros = new Uint8Array(64); // an application's arbitrary bytes (the simulator's transactions)
    expect(payloadTransactions([log, tx(1)])).toEqual([tx(1)]);
    expect(payloadTransactions([zeros, tx(1)])).toEqual([zeros, tx(1)]);
    expect(payloadTransactions([Uint8Array.of(0, 1, 2), tx(1)])).toHaveLength(2);
  });
});

describe('unfair-proposal evidence', () => {
  test('verifies against the validator keys alone, and not after any bit of it changes', () => {
    const c = cluster(4);
    const txs = [tx(1), tx(2), tx(3)];
    c.policies.forEach((p, i) => txs.forEach((t, k) => p.offer([t], 10 * (k + 1) + i)));
    exchangeLogs(c, 100);
    const honest = c.policies[0]!.build(ctx(100), 100);
    const logs = honest.slice(0, honest.length - txs.length);
    const block = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [...logs, txs[2]!, txs[0]!, txs[1]!] });
    const statement = signStatement(c.signers[0]!, 0, Domains.proposal, { view: 1, sequence: 0, blockHash: block.hash });
    const evidence = unfairProposalEvidence(block, statement);
    expect(verifyEvidence(evidence, c.verifier)).toBe(true);
    // The honest block convicts no one.
    const fair = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: honest });
    expect(verifyEvidence(unfairProposalEvidence(fair, signStatement(c.signers[0]!, 0, Domains.proposal, { view: 1, sequence: 0, blockHash: fair.hash })), c.verifier)).toBe(false);
    // Another validator cannot be framed with the block (its statement is not the proposer's).
    const framed = { ...evidence, offender: 1, statement: signStatement(c.signers[1]!, 1, Domains.proposal, { view: 1, sequence: 0, blockHash: block.hash }) };
    expect(verifyEvidence(framed, c.verifier)).toBe(false);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom('signature', 'payloadRoot', 'tx', 'log'), (at, bit, where) => {
        const flip = (bytes: Uint8Array) => {
          const copy = bytes.slice();
          copy[at % copy.length]! ^= 1 << bit;
          return copy;
        };
        let bad = evidence;
        if (where === 'signature') bad = { ...evidence, statement: { ...statement, signature: flip(statement.signature) } };
        if (where === 'payloadRoot') bad = { ...evidence, header: { ...evidence.header, payloadRoot: flip(evidence.header.payloadRoot) } };
        if (where === 'tx') bad = { ...evidence, payload: evidence.payload.map((e, i) => (i === logs.length ? flip(e) : e)) };
        if (where === 'log') bad = { ...evidence, payload: evidence.payload.map((e, i) => (i === 0 ? flip(e) : e)) };
        return !verifyEvidence(bad, c.verifier);
      }),
      { seed: 18, numRuns: 300 },
    );
  });
});

import { ValidatorSet } from '@bftx/consensus';
import { scenarioArb, scenarioConfig, DELTA } from '@bftx/conformance';
import { createSignatureScheme, keyPairFromSeed, utf8, type SignatureScheme } from '@bftx/crypto';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import * as sim from '@bftx/sim';
import { streamlet } from '@bftx/streamlet';
import fc from 'fast-check';
import { replicatedExchange, type ExchangeConfig, type ReplicatedExchange } from '../src/index';
import { Client, client, config, deposit, MARKET, scheme } from './helpers';

const PROTOCOLS = { streamlet: streamlet(), hotstuff: hotstuff(), pbft: pbft() } as const;

/** A seeded stream of client transactions: orders of every kind, some forged, some replayed, some malformed, and deposits. */
function workload(seed: number, count: number, spacing: number) {
  const rng = new sim.Rng(seed);
  const clients = [1, 2, 3].map((i) => new Client(client(i)));
  const out: Array<{ at: number; txs: Uint8Array[] }> = [];
  const sent: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const c = clients[rng.int(0, clients.length - 1)]!;
    const side = rng.int(0, 1) === 0 ? 'buy' : 'sell';
    const price = 95 + rng.int(0, 10);
    const roll = rng.int(0, 99);
    let tx: Uint8Array;
    if (roll < 45) tx = c.place({ clientId: rng.int(1, 12), side, price, size: rng.int(1, 20), tif: rng.int(0, 4) === 0 ? 'IOC' : 'GTC' });
    else if (roll < 55) tx = c.place({ clientId: rng.int(1, 12), side, type: 'market', size: rng.int(1, 10) });
    else if (roll < 60) tx = c.place({ clientId: rng.int(1, 12), side: 'sell', type: 'stop-limit', stopPrice: price, price: price - 1, size: rng.int(1, 5) });
    else if (roll < 72) tx = c.cancel(rng.int(1, 12));
    else if (roll < 82) tx = c.modify(rng.int(1, 12), price, rng.int(1, 20));
    else if (roll < 86) tx = deposit(c.signer, rng.int(0, 1) ? 'USD' : 'BTC', BigInt(rng.int(1, 1000)), rng.int(0, 2) ? 'deposit' : 'withdraw');
    else if (roll < 92) {
      tx = c.place({ clientId: 50, side, price, size: 1 });
      tx[tx.length - 1]! ^= 1; // forged
      c.nonce--;
    } else if (roll < 96 && sent.length > 0) tx = sent[rng.int(0, sent.length - 1)]!; // replayed
    else tx = utf8(`junk ${k}`);
    sent.push(tx);
    out.push({ at: (k + 1) * spacing, txs: [tx] });
  }
  return out;
}

function commonPrefixAgreement(replicas: readonly ReplicatedExchange<unknown>[], honest: ReadonlySet<number>): { agreedHeight: number; problem?: string } {
  const hs = replicas.filter((r) => honest.has(r.self));
  let agreedHeight = Infinity;
  for (let a = 0; a < hs.length; a++) {
    for (let b = a + 1; b < hs.length; b++) {
      const x = hs[a]!.stateRoots;
      const y = hs[b]!.stateRoots;
      const common = Math.min(x.length, y.length);
      agreedHeight = Math.min(agreedHeight, common);
      for (let h = 0; h < common; h++) if (x[h] !== y[h]) return { agreedHeight, problem: `replicas ${hs[a]!.self} and ${hs[b]!.self} have different state roots at height ${h + 1}` };
    }
  }
  return { agreedHeight: agreedHeight === Infinity ? 0 : agreedHeight };
}

describe('state machine replication', () => {
  let progressed = 0;
  let total = 0;
  test('honest replicas that applied the same finalized prefix have the same state root (any protocol, up to f Byzantine, hostile networks)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(PROTOCOLS) as Array<keyof typeof PROTOCOLS>)), scenarioArb(sim.STRATEGY_KINDS), (name, s) => {
        const base = scenarioConfig(s) as Omit<sim.SimulationConfig<unknown>, 'protocol'>;
        const byzantine = new Set(s.byzantine.map((b) => b.replica));
        // Byzantine replicas also put unchecked (forged, malformed) transactions in their blocks.
        const cluster = replicatedExchange(PROTOCOLS[name] as (typeof PROTOCOLS)['streamlet'], { exchange: config(), clientScheme: scheme, uncheckedMempool: [...byzantine] });
        const result = sim.simulate({ ...base, protocol: cluster, workload: workload(s.seed, 60, Math.floor(s.duration / 70)) });
        expect(result.safetyViolation).toBeUndefined();
        const honest = new Set(Array.from({ length: s.n }, (_, i) => i).filter((i) => !byzantine.has(i)));
        const { agreedHeight, problem } = commonPrefixAgreement(cluster.replicas as ReplicatedExchange<unknown>[], honest);
        if (problem !== undefined) throw new Error(`${problem}\nprotocol ${name}, scenario ${JSON.stringify(s)}`);
        // Offences are only ever proven against Byzantine validators.
        for (const r of cluster.replicas) if (honest.has(r.self)) for (const o of r.detected) if (honest.has(o.offender)) throw new Error(`honest validator ${o.offender} accused by ${r.self}`);
        total++;
        if (agreedHeight > 0) progressed++;
      }),
      { numRuns: bftxRuns(60) },
    );
    // Not vacuous: most runs finalized and applied blocks on every honest replica.
    expect(progressed).toBeGreaterThan(total / 2);
  });
});

describe('the prototype scenario pieces, counted for real', () => {
  test('forged orders never enter an honest leader\'s block; a Byzantine leader\'s forged transactions are rejected identically everywhere and it is the one offender', () => {
    for (const name of Object.keys(PROTOCOLS) as Array<keyof typeof PROTOCOLS>) {
      const cluster = replicatedExchange(PROTOCOLS[name] as (typeof PROTOCOLS)['streamlet'], { exchange: config(), clientScheme: scheme, uncheckedMempool: [0] });
      const alice = new Client(client(1));
      const bob = new Client(client(2));
      const txs: Uint8Array[] = [];
      for (let i = 1; i <= 20; i++) {
        txs.push(alice.place({ clientId: i, side: 'sell', price: 100 + (i % 5), size: 2 }));
        txs.push(bob.place({ clientId: i, side: 'buy', price: 100 + (i % 3), size: 1, tif: 'IOC' }));
        const forged = bob.place({ clientId: 100 + i, side: 'buy', price: 200, size: 5 });
        forged[forged.length - 1]! ^= 1;
        bob.nonce--;
        txs.push(forged);
      }
      const result = sim.simulate({
        protocol: cluster,
        n: 4,
        seed: 7,
        network: sim.synchronous(DELTA),
        timing: { delta: DELTA },
        duration: 2_000,
        trace: false,
        workload: txs.map((tx, k) => ({ at: 20 + k * 5, txs: [tx] })),
      });
      expect(result.safetyViolation).toBeUndefined();
      const honest = cluster.replicas.filter((r) => r.self !== 0);
      for (const r of honest) {
        expect(r.mempool.rejected.BAD_SIGNATURE).toBe(20);
        expect(r.mempool.admitted).toBe(40);
        expect(r.detected.map((o) => o.offender)).toEqual([0]);
        expect(r.detected[0]!.evidence).toMatchObject({ kind: 'forged-transaction', proposer: 0 });
      }
      const common = Math.min(...honest.map((r) => r.stateRoots.length));
      for (const r of honest) expect(r.stateRoots.slice(0, common)).toEqual(honest[0]!.stateRoots.slice(0, common));
      // Every honest replica rejected exactly the forged transactions that reached finalized blocks.
      const rejected = honest.map((r) => r.exchange.counters.rejected.BAD_SIGNATURE ?? 0);
      expect(new Set(rejected).size).toBe(1);
      expect(rejected[0]).toBeGreaterThan(0);
      expect(honest[0]!.stateRoots.length).toBeGreaterThan(5);
    }
  });

  test('end to end with real Ed25519: client orders signed and checked with it, consensus signed with it', () => {
    const ed = createSignatureScheme();
    const keys = [1, 2].map((i) => keyPairFromSeed(ed, new Uint8Array(32).fill(i)));
    const [a, b] = keys.map((k) => new Client(ed.signer(k.secretKey)));
    const exchange: ExchangeConfig = { ...config({}, []), genesis: keys.map((k) => ({ account: k.publicKey, balances: { USD: 10_000n, BTC: 100n } })) };
    const cluster = replicatedExchange(hotstuff(), { exchange, clientScheme: ed });
    const txs = [a!.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), b!.place({ clientId: 1, side: 'buy', price: 100, size: 3 })];
    sim.simulate({ protocol: cluster, n: 4, seed: 1, network: sim.synchronous(DELTA), timing: { delta: DELTA }, duration: 600, trace: false, signatures: 'ed25519', workload: [{ at: 20, txs }] });
    for (const r of cluster.replicas) {
      expect(r.exchange.accountView(b!.key)!.balances.BTC).toEqual({ available: 103n, reserved: 0n });
      expect(r.exchange.book.l1(MARKET.symbol)).toMatchObject({ askPrice: 100, askSize: 2 });
    }
    // The root commits to the height: compare at the height every replica reached.
    const common = Math.min(...cluster.replicas.map((r) => r.stateRoots.length));
    expect(new Set(cluster.replicas.map((r) => r.stateRoots[common - 1])).size).toBe(1);
  });

  test('a scheme per replica: each replica checks every client signature with its own', () => {
    const checks = new Map<number, number>();
    const perReplica = (self: number): SignatureScheme => ({
      backend: scheme.backend,
      publicKey: (secret) => scheme.publicKey(secret),
      signer: (secret) => scheme.signer(secret),
      verify: (...args) => {
        checks.set(self, (checks.get(self) ?? 0) + 1);
        return scheme.verify(...args);
      },
    });
    const a = new Client(client(1));
    const cluster = replicatedExchange(hotstuff(), { exchange: config(), clientScheme: perReplica });
    const txs = [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), a.place({ clientId: 2, side: 'buy', price: 90, size: 3 })];
    sim.simulate({ protocol: cluster, n: 4, seed: 1, network: sim.synchronous(DELTA), timing: { delta: DELTA }, duration: 400, trace: false, workload: [{ at: 20, txs }] });
    // Admission verifies each once per replica; execution reuses the admission's verdict.
    expect([...checks.entries()].sort()).toEqual([0, 1, 2, 3].map((i) => [i, 2]));
    for (const r of cluster.replicas) expect(r.exchange.book.l1(MARKET.symbol)).toMatchObject({ askPrice: 100, bidPrice: 90 });
  });
  test('restore: a replica started from a snapshot and the roots up to it goes on exactly as the one that applied every block', () => {
    const a = new Client(client(1));
    const b = new Client(client(2));
    const cluster = replicatedExchange(hotstuff(), { exchange: config(), clientScheme: scheme });
    const txs = [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), b.place({ clientId: 1, side: 'buy', price: 100, size: 3 }), a.place({ clientId: 2, side: 'buy', price: 90, size: 2 })];
    sim.simulate({ protocol: cluster, n: 4, seed: 1, network: sim.synchronous(DELTA), timing: { delta: DELTA }, duration: 400, trace: false, workload: [{ at: 20, txs }] });
    const source = cluster.replicas[0]!;
    const roots = [...source.stateRoots];
    const snapshot = source.exchange.snapshot();
    const fresh = () => replicatedExchange(hotstuff(), { exchange: config(), clientScheme: scheme }).create({ self: 0, validators: (source as any).verifier.validators, scheme, signer: scheme.signer(new Uint8Array(32).fill(1)), timing: { delta: DELTA } }) as ReplicatedExchange<unknown>;
    const restored = fresh();
    restored.restore(snapshot, roots);
    expect(restored.stateRoots).toEqual(roots);
    expect(restored.exchange.accountView(b.key)).toEqual(source.exchange.accountView(b.key));
    // The next block gives both the same root.
    const next = { parent: new Uint8Array(32), height: roots.length + 1, view: 99, proposer: 1, payloadRoot: new Uint8Array(32), payload: [b.place({ clientId: 2, side: 'buy', price: 100, size: 2 })] } as any;
    source.applyFinalized([next], 0);
    restored.applyFinalized([next], 0);
    expect(restored.stateRoots.at(-1)).toBe(source.stateRoots.at(-1));
    // A snapshot that does not match the roots, bytes that are no snapshot, or a restore after blocks: refused, nothing changed.
    const wrong = fresh();
    expect(() => wrong.restore(snapshot, [...roots.slice(0, -1), 'ff'.repeat(32)])).toThrow(/not the root recorded/);
    expect(() => wrong.restore(Uint8Array.of(1, 2, 3), roots)).toThrow();
    expect(wrong.stateRoots).toEqual([]);
    expect(() => restored.restore(snapshot, roots)).toThrow(/before any block/);
  });
});

describe('admission: what cannot execute never takes block space', () => {
  const replica = (rate?: { perSecond: number; burst: number }) => {
    const signer = scheme.signer(new Uint8Array(32).fill(1));
    const validators = new ValidatorSet([signer.publicKey]);
    return replicatedExchange(hotstuff(), { exchange: config(), clientScheme: scheme, ...(rate ? { admissionRate: rate } : {}) }).create({ self: 0, validators, scheme, signer, timing: { delta: DELTA } }) as ReplicatedExchange<unknown>;
  };
  const block = (height: number, payload: Uint8Array[]) => ({ parent: new Uint8Array(32), height, view: height, proposer: 0, payloadRoot: new Uint8Array(32), payload }) as any;

  test('a final transaction posted again is STALE_NONCE, executed or rejected; an unknown account, or a limit order the funds do not cover now, is refused', () => {
    const r = replica();
    const a = new Client(client(1));
    const executed = a.place({ clientId: 1, side: 'sell', price: 100, size: 5 });
    const rejectedInBlock = a.place({ clientId: 1, side: 'sell', price: 101, size: 5 }); // duplicate client id: rejected when final
    expect(r.admit(executed, 0)).toEqual({ ok: true });
    expect(r.admit(rejectedInBlock, 0)).toEqual({ ok: true });
    r.applyFinalized([block(1, [executed, rejectedInBlock])], 0);
    expect(r.admit(executed, 1)).toMatchObject({ ok: false, reason: 'STALE_NONCE' });
    expect(r.admit(rejectedInBlock, 1)).toMatchObject({ ok: false, reason: 'STALE_NONCE' });
    expect(r.admit(new Client(client(77)).place({ clientId: 1, side: 'buy', price: 1, size: 1 }), 1)).toMatchObject({ ok: false, reason: 'UNKNOWN_ACCOUNT' });
    expect(r.admit(a.place({ clientId: 2, side: 'buy', price: 10_000, size: 1_000 }), 1)).toMatchObject({ ok: false, reason: 'INSUFFICIENT_FUNDS' });
    expect(r.admit(a.place({ clientId: 3, side: 'buy', price: 100, size: 1 }), 1)).toEqual({ ok: true });
    // The same checks guard the 'transactions' input (a peer-free path: the runtime's own mempool).
    r.step({ type: 'transactions', txs: [executed], now: 2 });
    expect(r.mempool.rejected.STALE_NONCE).toBe(1);
  });

  test('one account is held to its rate; another is not held back by it; tokens come back with time', () => {
    const r = replica({ perSecond: 10, burst: 5 });
    const a = new Client(client(1));
    const b = new Client(client(2));
    const verdicts = Array.from({ length: 8 }, () => r.admit(a.place({ clientId: 1, side: 'sell', price: 100, size: 1 }), 1_000));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(5);
    expect(verdicts[7]).toMatchObject({ ok: false, reason: 'RATE_LIMITED' });
    expect(r.admit(b.place({ clientId: 1, side: 'sell', price: 100, size: 1 }), 1_000)).toEqual({ ok: true });
    expect(r.admit(a.place({ clientId: 1, side: 'sell', price: 100, size: 1 }), 1_100)).toEqual({ ok: true }); // 100 ms = one token at 10/s
    // A transaction the API admitted is not counted again when it is offered.
    const c = new Client(client(3));
    const txs = Array.from({ length: 5 }, (_, i) => c.place({ clientId: i + 1, side: 'sell', price: 100, size: 1 }));
    for (const tx of txs) expect(r.admit(tx, 2_000)).toEqual({ ok: true });
    const before = r.mempool.admitted;
    r.step({ type: 'transactions', txs, now: 2_000 });
    expect(r.mempool.admitted - before).toBe(5);
  });
});

test('a rejected operator withdrawal is used up: its bytes can never execute later, when the account could cover them (outside attack F4)', () => {
  const signer = scheme.signer(new Uint8Array(32).fill(1));
  const r = replicatedExchange(hotstuff(), { exchange: config(), clientScheme: scheme }).create({ self: 0, validators: new ValidatorSet([signer.publicKey]), scheme, signer, timing: { delta: DELTA } }) as ReplicatedExchange<unknown>;
  const a = new Client(client(1));
  const tooMuch = deposit(a.signer, 'USD', 5_000_000n, 'withdraw');
  expect(r.admit(tooMuch, 0)).toEqual({ ok: true });
  r.applyFinalized([{ parent: new Uint8Array(32), height: 1, view: 1, proposer: 0, payloadRoot: new Uint8Array(32), payload: [tooMuch] } as any], 0);
  expect(r.admit(tooMuch, 1)).toMatchObject({ ok: false, reason: 'STALE_NONCE' });
  // And transfers are not held to a client rate: replays of one cannot block the operator's next.
  const next = deposit(a.signer, 'USD', 1n);
  for (let i = 0; i < 2_000; i++) r.admit(next, 2);
  expect(r.admit(deposit(a.signer, 'USD', 2n), 2)).toEqual({ ok: true });
  // An order for a market that does not exist takes no block space.
  expect(r.admit(a.place({ symbol: 'NOPE-USD', clientId: 9, side: 'buy', price: 1, size: 1 }), 3)).toMatchObject({ ok: false, reason: 'UNKNOWN_SYMBOL' });
});


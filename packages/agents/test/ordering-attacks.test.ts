// The ordering attacks of @bftx/sim run by real protocols on fake transactions (here, not in
// packages/sim: the protocols' own tests depend on the simulator, so it cannot depend on them).
import { adversarialPayload, fairOrdering, FifoPayloadPolicy, payloadTransactions, withPayloadPolicy, type Block, type ProtocolDefinition } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { orderingAttack, startSimulation, synchronous, type AttackTrader, type OrderingAttackKind, type RunningSimulation } from '@bftx/sim';
import { streamlet } from '@bftx/streamlet';

// Fake transactions: [1, client, id high, id low, flags]; flags 1 = worth attacking. The coalition is client 9.
const ATTACKER = 9;
const fake = (client: number, id: number, flags = 0) => Uint8Array.of(1, client, id >> 8, id & 255, flags);
const isOwn = (tx: Uint8Array) => tx[1] === ATTACKER;
const isTarget = (tx: Uint8Array) => (tx[4]! & 1) === 1;

/** Background orders of clients 1-4 every 20 ms and a target of client 5 every 200 ms, for 2 s. */
function workload() {
  const out: Array<{ at: number; txs: Uint8Array[] }> = [];
  let id = 0;
  for (let at = 10; at < 2_000; at += 20) {
    const txs = [fake(1 + (id % 4), id++)];
    if (at % 200 === 10) txs.push(fake(5, id++, 1));
    out.push({ at, txs });
  }
  return out;
}

function coalition(kind: OrderingAttackKind, mode: 'leader' | 'fair', sim: () => RunningSimulation) {
  let next = 0;
  const trader: AttackTrader = {
    self: String(ATTACKER),
    isTarget,
    isCancel: () => false,
    client: (tx) => String(tx[1]),
    respond: () => ({ before: [fake(ATTACKER, next++)], after: [fake(ATTACKER, next++)] }),
    submit: (txs, at) => sim().offer(txs, { at }),
  };
  return orderingAttack(kind, trader, mode, { afterDelay: 10 });
}

/** `def` with the blocks replica `observer` finalizes recorded. */
function recording<M>(def: ProtocolDefinition<M>, observer: number, into: Block[]): ProtocolDefinition<M> {
  return {
    ...def,
    create(config) {
      const p = def.create(config);
      if (config.self !== observer) return p;
      return {
        get self() {
          return p.self;
        },
        step(input) {
          const out = p.step(input);
          for (const o of out) if (o.type === 'commit') into.push(...o.blocks);
          return out;
        },
      };
    },
  };
}

function run<M>(def: ProtocolDefinition<M>, observer: number) {
  const ledger: Block[] = [];
  const sim = startSimulation({ protocol: recording(def, observer, ledger), n: 4, seed: 3, network: synchronous(10), timing: { delta: 10 }, duration: 3_000, workload: workload(), trace: false });
  return { sim, ledger };
}

const txsOf = (ledger: readonly Block[]) => ledger.flatMap((b) => [...payloadTransactions(b.payload)]);

const protocols: Array<[string, () => ProtocolDefinition<any>, number]> = [
  // The coalition must lead: replica 3 leads a view in four (hashed or round-robin leaders); PBFT's primary of view 0 is replica 0.
  ['streamlet', () => streamlet(), 3],
  ['hotstuff', () => hotstuff(), 3],
  ['pbft', () => pbft(), 0],
];

describe.each(protocols)('%s: a Byzantine leader sandwiching the target', (_name, protocol, byz) => {
  const observer = byz === 0 ? 1 : 0;

  test('under leader order it gets its orders right before and after the target, and nobody objects', () => {
    const held: { sim?: RunningSimulation } = {};
    const attack = coalition('sandwich', 'leader', () => held.sim!);
    const def = withPayloadPolicy(protocol(), (c) => (c.self === byz ? adversarialPayload(new FifoPayloadPolicy(), attack) : undefined));
    const r = run(def, observer);
    held.sim = r.sim;
    r.sim.runUntil(3_000);
    const result = r.sim.result();
    expect(result.safetyViolation).toBeUndefined();
    expect(result.offenders).toEqual([]);
    const txs = txsOf(r.ledger);
    const sandwiched = txs.filter((tx, i) => isTarget(tx) && i > 0 && isOwn(txs[i - 1]!) && i + 1 < txs.length && isOwn(txs[i + 1]!));
    expect(sandwiched.length).toBeGreaterThan(0);
    expect(sandwiched.length).toBe(attack.stats.rewritten);
  });

  test('under fair ordering honest voters refuse its blocks and convict it with unfair-proposal evidence; no inserted order is final', () => {
    const held: { sim?: RunningSimulation } = {};
    const attack = coalition('sandwich', 'leader', () => held.sim!);
    const def = fairOrdering(protocol(), { adversary: (self) => (self === byz ? attack : undefined) });
    const r = run(def, observer);
    held.sim = r.sim;
    r.sim.runUntil(3_000);
    const result = r.sim.result();
    expect(result.safetyViolation).toBeUndefined();
    expect(attack.stats.rewritten).toBeGreaterThan(0);
    expect(result.offenders).toEqual([byz]);
    expect(result.evidence.every((e) => 'kind' in e && e.kind === 'unfair-proposal' && e.offender === byz)).toBe(true);
    const refused = result.replicas.filter((x) => x.validator !== byz).reduce((s, x) => s + (x.rejections['INVALID_PAYLOAD'] ?? 0), 0);
    expect(refused).toBeGreaterThan(0);
    const txs = txsOf(r.ledger);
    expect(txs.filter(isOwn)).toEqual([]);
    // The targets still become final: refusing the leader costs it its views, not the clients their orders.
    expect(txs.filter(isTarget).length).toBe(10);
  });

  test('under fair ordering the coalition, playing by the rules, sends its orders as a client and is not convicted', () => {
    const held: { sim?: RunningSimulation } = {};
    const attack = coalition('front-run', 'fair', () => held.sim!);
    const def = fairOrdering(protocol(), { adversary: (self) => (self === byz ? attack : undefined) });
    const r = run(def, observer);
    held.sim = r.sim;
    r.sim.runUntil(3_000);
    const result = r.sim.result();
    expect(result.safetyViolation).toBeUndefined();
    expect(result.offenders).toEqual([]);
    expect(attack.stats.inserted).toBeGreaterThan(0);
    const txs = txsOf(r.ledger);
    expect(txs.filter(isTarget).length).toBe(10);
    expect(txs.filter(isOwn).length).toBe(attack.stats.inserted);
  });
});

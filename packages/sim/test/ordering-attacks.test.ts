import { adversarialPayload, FifoPayloadPolicy, txKey, type PayloadContext } from '@bftx/consensus';
import { ORDERING_ATTACKS, orderingAttack, type AttackTrader, type OrderingAttackKind } from '../src/index';

// Fake transactions: [1, client, id, flags]; flags 1 = a large order worth attacking, 2 = a cancel.
const ATTACKER = 9;
const tx = (client: number, id: number, flags = 0) => Uint8Array.of(1, client, id, flags);
const victim = tx(2, 1, 1);
const victim2 = tx(2, 2, 0); // the victim's small order: not a target, but the same client
const a = tx(3, 1);
const b = tx(4, 1);
const cancel = tx(5, 1, 2);
const name = (t: Uint8Array) => (t[1] === ATTACKER ? `own${t[2]}` : t === victim ? 'victim' : t === victim2 ? 'victim2' : t === cancel ? 'cancel' : t === a ? 'a' : t === b ? 'b' : '?');
const ctx: PayloadContext = { view: 1, height: 1, now: 100, pending: new Set() };

function trader() {
  const submitted: Array<{ names: string[]; at: number }> = [];
  let next = 1;
  const t: AttackTrader = {
    self: String(ATTACKER),
    isTarget: (x) => (x[3]! & 1) === 1,
    isCancel: (x) => (x[3]! & 2) === 2,
    client: (x) => String(x[1]),
    respond: () => ({ before: [tx(ATTACKER, next++)], after: [tx(ATTACKER, next++)] }),
    submit: (txs, at) => submitted.push({ names: txs.map(name), at }),
  };
  return { t, submitted };
}

function leaderBlock(kind: OrderingAttackKind, block: Uint8Array[], seen: Uint8Array[] = block): string[] {
  const adv = orderingAttack(kind, trader().t, 'leader');
  for (const x of seen) adv.seen!(x, 50);
  return adv.build!(block, ctx).map(name);
}

describe('ordering attacks under leader order: the Byzantine leader rewrites its block', () => {
  test('front-run puts its order right ahead of the target (and its withdrawal right behind)', () => {
    expect(leaderBlock('front-run', [a, victim, b])).toEqual(['a', 'own1', 'victim', 'own2', 'b']);
  });
  test('sandwich puts one order ahead of the target and one right behind it', () => {
    expect(leaderBlock('sandwich', [a, victim, b])).toEqual(['a', 'own1', 'victim', 'own2', 'b']);
  });
  test('displacement puts its order first and the target behind every other order', () => {
    expect(leaderBlock('displacement', [victim, a, b])).toEqual(['own1', 'a', 'b', 'victim', 'own2']);
  });
  test("censor leaves out every order of the target's client, small ones too", () => {
    expect(leaderBlock('censor', [a, victim2, victim, b], [victim])).toEqual(['a', 'b']);
  });
  test('delay pushes the target to a later block (once) and trades ahead of it', () => {
    const adv = orderingAttack('delay', trader().t, 'leader');
    adv.seen!(victim, 50);
    expect(adv.build!([a, victim, b], ctx).map(name)).toEqual(['a', 'own1', 'b']); // its order in the target's place
    expect(adv.build!([victim, b], ctx).map(name)).toEqual(['victim', 'b']);
  });
  test("ignore-cancels fills the maker's stale order first and puts the cancels last", () => {
    expect(leaderBlock('ignore-cancels', [cancel, a, victim])).toEqual(['own1', 'a', 'victim', 'cancel', 'own2']);
  });
  test('condorcet puts its order first and reverses the order received', () => {
    expect(leaderBlock('condorcet', [a, victim, b])).toEqual(['own1', 'b', 'victim', 'a', 'own2']);
  });
  test.each(ORDERING_ATTACKS)('%s leaves a block without a target as it is, and answers a target once', (kind) => {
    const adv = orderingAttack(kind, trader().t, 'leader');
    expect(adv.build!([a, b], ctx).map(name)).toEqual(['a', 'b']);
    adv.seen!(kind === 'ignore-cancels' ? cancel : victim, 50);
    adv.seen!(kind === 'ignore-cancels' ? cancel : victim, 60); // a second replica of the coalition sees it too
    expect(adv.stats.responded).toBe(1);
    const target = kind === 'ignore-cancels' ? cancel : victim;
    const first = adv.build!([target], ctx).map(name);
    const second = adv.build!([target], ctx).map(name);
    expect(first.filter((x) => x.startsWith('own')).length).toBeLessThanOrEqual(2);
    expect(second.filter((x) => x.startsWith('own'))).toEqual([]); // its orders go in once
  });
  test('racing, it sends its reaction as a client at once, and as leader moves those orders right around the target', () => {
    const { t, submitted } = trader();
    const adv = orderingAttack('sandwich', t, 'leader', { race: true, afterDelay: 5 });
    adv.seen!(victim, 50);
    expect(submitted).toEqual([
      { names: ['own1'], at: 50 },
      { names: ['own2'], at: 55 },
    ]);
    // Its orders reached the mempool after the target, and one of them is final already.
    const own1 = tx(ATTACKER, 1);
    const own2 = tx(ATTACKER, 2);
    expect(adv.build!([a, victim, b, own1, own2], ctx).map(name)).toEqual(['a', 'own1', 'victim', 'own2', 'b']);
    const adv2 = orderingAttack('sandwich', trader().t, 'leader', { race: true });
    adv2.seen!(victim, 50);
    expect(adv2.build!([victim, b], { ...ctx, pending: new Set([txKey(own1)]) }).map(name)).toEqual(['victim', 'own2', 'b']);
  });
  test('as a payload policy around first-in-first-out: what the replica receives is what it attacks', () => {
    const adv = orderingAttack('sandwich', trader().t, 'leader');
    const policy = adversarialPayload(new FifoPayloadPolicy(), adv);
    policy.offer([a, victim, b], 10);
    expect(policy.build(ctx, 100).map(name)).toEqual(['a', 'own1', 'victim', 'own2', 'b']);
  });
});

describe('ordering attacks under fair ordering: what a coalition can do unconvicted', () => {
  test('it sends its orders as a client the moment it sees the target, the after ones a message delay later', () => {
    const { t, submitted } = trader();
    const adv = orderingAttack('sandwich', t, 'fair', { afterDelay: 7 });
    adv.seen!(a, 40);
    adv.seen!(victim, 50);
    expect(submitted).toEqual([
      { names: ['own1'], at: 50 },
      { names: ['own2'], at: 57 },
    ]);
  });
  test('its log says time 0 for its own orders, leaves the target out and keeps the rest honest', () => {
    const adv = orderingAttack('front-run', trader().t, 'fair');
    expect(adv.logTime!(tx(ATTACKER, 1), 55)).toBe(0);
    expect(adv.logTime!(victim, 50)).toBeUndefined();
    expect(adv.logTime!(a, 40)).toBe(40);
    expect(adv.stats.withheld).toBe(1);
  });
  test("censor leaves the client's orders out of its log once it has seen one of its targets", () => {
    const adv = orderingAttack('censor', trader().t, 'fair');
    expect(adv.logTime!(victim2, 40)).toBe(40);
    adv.seen!(victim, 50);
    expect(adv.logTime!(victim2, 60)).toBeUndefined();
  });
  test('condorcet mirrors receipt times within a window', () => {
    const adv = orderingAttack('condorcet', trader().t, 'fair', { afterDelay: 10 });
    const times = [100, 103, 108].map((time, i) => adv.logTime!(tx(3, i + 10), time));
    expect(times).toEqual([110, 107, 102]);
  });
  test.each(ORDERING_ATTACKS)('%s as leader ends its block before the first target: a prefix of the fair order, nothing inserted or reordered', (kind) => {
    const adv = orderingAttack(kind, trader().t, 'fair');
    const target = kind === 'ignore-cancels' ? cancel : victim;
    adv.seen!(target, 50);
    expect(adv.build!([a, target, b], ctx).map(name)).toEqual(['a']);
    expect(adv.build!([a, b], ctx).map(name)).toEqual(['a', 'b']);
    // Once per target, so the chain behind it does not stall; a censored client's orders every time.
    expect(adv.build!([a, target, b], ctx).map(name)).toEqual(kind === 'censor' ? ['a'] : ['a', name(target), 'b']);
  });
});

describe('ordering attacks as a plain client: the baseline without powers', () => {
  test('it reacts to what its replicas see as a client, and leaves logs and blocks alone', () => {
    const { t, submitted } = trader();
    const adv = orderingAttack('sandwich', t, 'client', { afterDelay: 5 });
    adv.seen!(victim, 50);
    expect(submitted).toEqual([
      { names: ['own1'], at: 50 },
      { names: ['own2'], at: 55 },
    ]);
    expect(adv.logTime).toBeUndefined();
    expect(adv.build).toBeUndefined();
  });
});

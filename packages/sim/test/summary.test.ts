import { GENESIS, makeBlock, type Protocol, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput } from '@bftx/consensus';
import { utf8 } from '@bftx/crypto';
import { distribution, heldVotes, Rng, simulate, synchronous } from '../src/index';

type Msg = { readonly kind: 'vote' | 'note'; readonly by: number };

/** A toy protocol: at start every replica commits its own block at height 1 (so honest replicas disagree when `diverge`), and broadcasts one vote and one note. */
function toy(diverge: boolean): ProtocolDefinition<Msg> {
  return {
    name: 'toy',
    create(config): Protocol<Msg> {
      return {
        self: config.self,
        step(input: ProtocolInput<Msg>): ProtocolOutput<Msg>[] {
          if (input.type !== 'start') return [];
          const block = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [utf8(diverge ? `mine-${config.self}` : 'shared')] });
          return [
            { type: 'broadcast', message: { kind: 'vote', by: config.self } },
            { type: 'broadcast', message: { kind: 'note', by: config.self } },
            { type: 'commit', blocks: [block] },
          ];
        },
      };
    },
    encodeMessage: (m) => utf8(`${m.kind}${m.by}`),
    decodeMessage: () => {
      throw new Error('not used');
    },
    messageKind: (m) => m.kind,
    votes: () => [],
    livenessBound: () => 0,
    byzantine: {
      isVote: (m) => m.kind === 'vote',
      conflicting: () => undefined,
      withBadSignature: (m) => m,
      withForgedParent: () => undefined,
      voteFor: () => undefined,
      signerOf: (m) => m.by,
      proposedBlock: () => undefined,
      reparent: () => undefined,
    },
  };
}

describe('run summary', () => {
  test('the verdict is "safe" when honest ledgers agree, and names the height when they do not', () => {
    const base = { n: 4, seed: 1, network: synchronous(10), timing: { delta: 10 }, duration: 100 };
    const agree = simulate({ ...base, protocol: toy(false) });
    expect(agree.verdict).toBe('safe');
    expect(agree.safetyViolation).toBeUndefined();
    expect(agree.replicas.map((r) => r.finalized)).toEqual([1, 1, 1, 1]);
    const split = simulate({ ...base, protocol: toy(true) });
    expect(split.safetyViolation).toMatch(/^height 1: replica 1 finalized [0-9a-f]{12} but another honest replica finalized [0-9a-f]{12}$/);
    expect(split.verdict).toBe(split.safetyViolation);
    // A Byzantine replica's ledger does not count against safety.
    const oneLiar = simulate({ ...base, n: 2, protocol: toy(true), byzantine: [{ replica: 1, strategy: { kind: 'silent' } }] });
    expect(oneLiar.verdict).toBe('safe');
  });

  test('distribution: nearest-rank percentiles, mean, and zeros when empty', () => {
    expect(distribution([])).toEqual({ count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 });
    const d = distribution(Array.from({ length: 100 }, (_, i) => 100 - i)); // 1..100, unsorted
    expect(d).toEqual({ count: 100, mean: 50.5, min: 1, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(distribution([7])).toEqual({ count: 1, mean: 7, min: 7, p50: 7, p90: 7, p99: 7, max: 7 });
  });
});

describe('held votes', () => {
  test('votes sent in a held window arrive just before the release window; other messages and windows are untouched', () => {
    const net = heldVotes(synchronous(10), 100, (to, w) => (to === 1 && w === 2 ? 3 : 0));
    const r = new Rng(5);
    const vote = { kind: 'vote', vote: true };
    const note = { kind: 'proposal', vote: false };
    expect(net.deliveries(0, 1, 250, r, vote)).toEqual([499]); // window 2, held 3 windows: just before 500
    expect(net.deliveries(0, 1, 250, r, note)[0]).toBeLessThanOrEqual(260);
    expect(net.deliveries(0, 2, 250, r, vote)[0]).toBeLessThanOrEqual(260);
    expect(net.deliveries(0, 1, 350, r, vote)[0]).toBeLessThanOrEqual(360);
  });

  test('the simulator tells the network which messages are votes', () => {
    const held = simulate({ protocol: toy(false), n: 3, seed: 2, network: heldVotes(synchronous(10), 100, () => 5), timing: { delta: 10 }, duration: 1000, traceKinds: ['send'] });
    const sends = held.trace.filter((e) => e.ev === 'send');
    expect(sends.filter((e) => e.kind === 'vote').every((e) => e.at === 499)).toBe(true);
    expect(sends.filter((e) => e.kind === 'note').every((e) => (e.at as number) <= 10)).toBe(true);
    expect(sends).toHaveLength(12);
  });
});

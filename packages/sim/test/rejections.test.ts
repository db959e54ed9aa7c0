import type { Protocol, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { utf8 } from '@bftx/crypto';
import { fixedDelay, simulate, synchronous } from '../src/index';

type Msg = { readonly by: number; readonly forged: boolean };

/**
 * A stub protocol: at start every replica broadcasts one message; a receiver refuses a forged one
 * (BAD_SIGNATURE) and every message from replica 0 (NOT_FROM_LEADER), and counts the others as
 * duplicates after the first from each sender. It also refuses every transaction batch (MALFORMED,
 * a local input: no sender).
 */
function stub(): ProtocolDefinition<Msg> {
  return {
    name: 'stub',
    create(config): Protocol<Msg> {
      const seen = new Set<number>();
      return {
        self: config.self,
        step(input: ProtocolInput<Msg>): ProtocolOutput<Msg>[] {
          if (input.type === 'start') return [{ type: 'broadcast', message: { by: config.self, forged: false } }];
          if (input.type === 'transactions') return [{ type: 'reject', code: 'MALFORMED' }];
          if (input.type !== 'message') return [];
          const m = input.message;
          if (m.forged) return [{ type: 'reject', code: 'BAD_SIGNATURE', from: input.from, kind: 'note' }];
          if (m.by === 0) return [{ type: 'reject', code: 'NOT_FROM_LEADER', from: input.from, kind: 'note' }];
          if (seen.has(m.by)) return [{ type: 'reject', code: 'DUPLICATE', from: input.from, kind: 'note' }];
          seen.add(m.by);
          return [];
        },
      };
    },
    encodeMessage: (m) => utf8(`${m.by}${m.forged}`),
    decodeMessage: () => {
      throw new Error('not used');
    },
    messageKind: () => 'note',
    votes: () => [],
    livenessBound: () => 0,
    byzantine: {
      isVote: () => false,
      conflicting: () => undefined,
      withBadSignature: (m) => ({ ...m, forged: true }),
      withForgedParent: () => undefined,
      voteFor: () => undefined,
      signerOf: (m) => m.by,
      proposedBlock: () => undefined,
      reparent: () => undefined,
    },
  };
}

const base = { protocol: stub(), n: 4, seed: 3, network: fixedDelay(5), timing: { delta: 5 }, duration: 50 };

describe('rejections', () => {
  test('every reject output is counted per replica and in total, by code', () => {
    // Replica 3 sends only forged messages; replica 0's are refused as not from the leader.
    const r = simulate({ ...base, byzantine: [{ replica: 3, strategy: { kind: 'invalid-signatures' } }], workload: [{ at: 10, txs: [utf8('t')], to: [1] }] });
    expect(r.replicas.map((x) => x.rejections)).toEqual([
      { BAD_SIGNATURE: 1 },
      { NOT_FROM_LEADER: 1, BAD_SIGNATURE: 1, MALFORMED: 1 },
      { NOT_FROM_LEADER: 1, BAD_SIGNATURE: 1 },
      { NOT_FROM_LEADER: 1 },
    ]);
    expect(r.rejections).toEqual({ BAD_SIGNATURE: 3, NOT_FROM_LEADER: 3, MALFORMED: 1 });
  });

  test('the trace records each refusal (who refused, the code, the sender and kind where known) when tracing, and only then', () => {
    const traced = simulate({ ...base, byzantine: [{ replica: 3, strategy: { kind: 'invalid-signatures' } }] });
    const rejects = traced.trace.filter((t) => t.ev === 'reject');
    expect(rejects).toHaveLength(6);
    expect(rejects).toContainEqual({ t: 5, ev: 'reject', replica: 1, code: 'BAD_SIGNATURE', from: 3, kind: 'note' });
    const quiet = simulate({ ...base, byzantine: [{ replica: 3, strategy: { kind: 'invalid-signatures' } }], trace: false });
    expect(quiet.trace).toEqual([]);
    expect(quiet.rejections).toEqual(traced.rejections);
  });

  test('a message that arrives twice is refused as a duplicate by each receiver; a run without refusals counts none', () => {
    const clean = simulate({ ...base, protocol: { ...stub(), create: (c) => ({ self: c.self, step: () => [] }) } });
    expect(clean.rejections).toEqual({});
    expect(clean.replicas.every((x) => Object.keys(x.rejections).length === 0)).toBe(true);
    // Restarted, replica 1 starts again and broadcasts its message a second time.
    const twice = simulate({ ...base, restarts: [{ replica: 1, at: 20, downFor: 1 }] });
    expect(twice.replicas.filter((x) => x.validator !== 1).map((x) => x.rejections.DUPLICATE)).toEqual([1, 1, 1]);
  });

  test('same seed, same bytes: refusals, random delays and a crash in the middle of a step included', () => {
    const run = () => simulate({ ...base, network: synchronous(5), byzantine: [{ replica: 3, strategy: { kind: 'invalid-signatures' } }], restarts: [{ replica: 1, at: 0, downFor: 3, prefix: 1 }, { replica: 2, at: 20, downFor: 1 }] });
    const [a, b] = [run(), run()];
    expect(a.traceJsonl()).toBe(b.traceJsonl());
    expect(a.traceJsonl()).toContain('"ev":"reject"');
    expect(JSON.stringify(a.replicas)).toBe(JSON.stringify(b.replicas));
  });
});

describe('workload endpoints (issue 22)', () => {
  test('transactions go to the endpoints named (a twin apart from its sibling); a bad endpoint, or both to and endpoints, is a RangeError', () => {
    const run = (workload: Parameters<typeof simulate>[0]['workload']) => simulate({ ...base, twins: [2], workload, transcripts: true });
    expect(() => run([{ at: 10, txs: [utf8('t')], endpoints: [5] }])).toThrow(/no endpoint 5 \(n = 4, 1 twin\(s\): 0 to 4\)/);
    expect(() => run([{ at: 10, txs: [utf8('t')], endpoints: [1], to: [1] }])).toThrow(/not both/);
    const r = run([{ at: 10, txs: [utf8('t')], endpoints: [4] }]);
    // Twins count as Byzantine; with transcripts, only honest replicas carry one.
    expect(r.replicas.map((x) => x.transcript !== undefined)).toEqual([true, true, false, true, false]);
    expect(r.coalition).toEqual({ size: 1, f: 1, forkNeeds: 2, expectedFork: false });
  });
});

import { signStatement, type Protocol, type ProtocolConfig, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput, type SignedStatement } from '@bftx/consensus';
import { codec, decode, encode, hash } from '@bftx/crypto';
import { fixedDelay, isolatedUntil, lossyUntil, networkFromJson, Rng, simulate, synchronous } from '../src/index';

// A toy protocol: every 10 ms a replica signs "tick k" over a hash of (k, now) and broadcasts it.
// `order` decides whether the counter is persisted before the signature leaves in the same step (the
// contract), after it in the same step (harmless: the runtime writes a step's durable part before its
// actions), or only in the next step (a bug a crash between the two steps exposes); `persists: false`
// never persists (a bug any restart exposes).
type Tick = SignedStatement;
const Counter = codec.uint();

function ticker(options: { order: 'persist-first' | 'send-first' | 'persist-late'; persists: boolean }, received?: Map<number, number>): ProtocolDefinition<Tick> {
  return {
    name: 'ticker',
    create(config: ProtocolConfig): Protocol<Tick> {
      let k = config.safetyState === undefined ? 0 : decode(Counter, config.safetyState);
      return {
        self: config.self,
        step(input: ProtocolInput<Tick>): ProtocolOutput<Tick>[] {
          if (input.type === 'message') received?.set(config.self, (received.get(config.self) ?? 0) + 1);
          if (input.type !== 'start' && input.type !== 'timer') return [];
          const out: ProtocolOutput<Tick>[] = [{ type: 'set-timer', timer: 't', at: input.now + 10 }];
          if (input.type === 'start') return out;
          k++;
          const tick = signStatement(config.signer, config.self, 'bftx.test.tick', { view: k, sequence: 0, blockHash: hash('bftx.test', encode(Counter, input.now)) });
          const persist: ProtocolOutput<Tick> = { type: 'persist', state: encode(Counter, k) };
          const send: ProtocolOutput<Tick> = { type: 'broadcast', message: tick };
          if (!options.persists) out.push(send);
          else if (options.order === 'persist-late') out.push(send, ...(k > 1 ? [{ type: 'persist', state: encode(Counter, k - 1) } as const] : []));
          else out.push(...(options.order === 'persist-first' ? [persist, send] : [send, persist]));
          return out;
        },
      };
    },
    encodeMessage: () => new Uint8Array(8),
    decodeMessage: () => {
      throw new Error('not used');
    },
    messageKind: () => 'tick',
    votes: (m) => [m],
    livenessBound: () => 0,
  };
}

const base = { n: 4, seed: 7, network: synchronous(5), timing: { delta: 5 }, duration: 300, trace: false };

describe('crash-restarts', () => {
  test('an instance restarted from its last persist output keeps its promises: no double signing', () => {
    const r = simulate({ ...base, protocol: ticker({ order: 'persist-first', persists: true }), restarts: [{ replica: 1, at: 95, downFor: 30 }, { replica: 2, at: 100, downFor: 0, prefix: 1 }] });
    expect(r.doubleSigns).toEqual([]);
    expect(r.safetyViolation).toBeUndefined();
    expect(r.replicas.map((x) => x.restarts)).toEqual([0, 1, 1, 0]);
  });

  test('a protocol that persists nothing signs twice after a restart, and the run says so', () => {
    const r = simulate({ ...base, protocol: ticker({ order: 'persist-first', persists: false }), restarts: [{ replica: 3, at: 95, downFor: 30 }] });
    expect(r.doubleSigns.length).toBeGreaterThan(0);
    expect(r.doubleSigns[0]).toMatch(/honest replica 3 signed two statements/);
    expect(r.safetyViolation).toBe(r.doubleSigns[0]);
  });

  test('a crash between a send and the persist that comes only in the next step is caught', () => {
    const bug = simulate({ ...base, protocol: ticker({ order: 'persist-late', persists: true }), restarts: [{ replica: 0, at: 95, downFor: 5 }] });
    expect(bug.doubleSigns.length).toBeGreaterThan(0);
    const ok = simulate({ ...base, protocol: ticker({ order: 'persist-first', persists: true }), restarts: [{ replica: 0, at: 95, downFor: 5 }] });
    expect(ok.doubleSigns).toEqual([]);
  });

  test('crash points are those of a real runtime: prefix 0 before the durable write, prefix k after it and k - 1 actions; a persist after a send in one step is still durable first', () => {
    // The step at t=100 asks [set-timer, broadcast] after its persist (or before it, with send-first).
    const at = (prefix: number, order: 'persist-first' | 'send-first' = 'persist-first') => simulate({ ...base, protocol: ticker({ order, persists: true }), restarts: [{ replica: 0, at: 100, downFor: 5, prefix }] });
    const [p0, p1, p2, p3] = [0, 1, 2, 3].map((p) => at(p));
    // Prefix 0 loses the step's persist; from prefix 1 on it is written.
    expect(p1!.replicas[0]!.persisted).toBe(p0!.replicas[0]!.persisted + 1);
    expect(p2!.replicas[0]!.persisted).toBe(p1!.replicas[0]!.persisted);
    // The tick leaves only with the second action (prefix 3): three more messages, one per peer.
    expect(p2!.messages).toBe(p1!.messages);
    expect(p3!.messages).toBe(p2!.messages + 3);
    for (const r of [p0, p1, p2, p3]) expect(r!.doubleSigns).toEqual([]);
    // Sent before its persist in the step's own order, the tick is still never out before the state that forbids a second one.
    for (const p of [0, 1, 2, 3]) expect(at(p, 'send-first').doubleSigns).toEqual([]);
  });

  test('messages to a replica that is down, or in flight when it crashed, are lost; its timers die with it', () => {
    const received = new Map<number, number>();
    simulate({ ...base, duration: 200, protocol: ticker({ order: 'persist-first', persists: true }, received), restarts: [{ replica: 0, at: 50, downFor: 100 }] });
    // Replica 0 hears 3 peers every 10 ms except while down (about 100 ms of 200): about half of what the others hear.
    expect(received.get(0)!).toBeLessThan(received.get(1)! * 0.6);
    expect(received.get(0)!).toBeGreaterThan(received.get(1)! * 0.3);
  });

  test('bad restart settings are refused with a reason', () => {
    expect(() => simulate({ ...base, protocol: ticker({ order: 'persist-first', persists: true }), restarts: [{ replica: 9, at: 1, downFor: 1 }] })).toThrow(/no replica 9/);
    expect(() => simulate({ ...base, protocol: ticker({ order: 'persist-first', persists: true }), restarts: [{ replica: 1, at: -1, downFor: 1 }] })).toThrow(RangeError);
  });
});

const MSG = { kind: 'x', vote: false };

describe('network models for the generated classes', () => {
  test('fixedDelay: exactly the delay, 0 included', () => {
    const r = new Rng(1);
    expect(fixedDelay(0).deliveries(0, 1, 40, r, MSG)).toEqual([40]);
    expect(fixedDelay(10).deliveries(0, 1, 40, r, MSG)).toEqual([50]);
    expect(() => fixedDelay(-1)).toThrow(RangeError);
  });
  test('lossyUntil: loss and duplication before the time only', () => {
    const r = new Rng(2);
    const net = lossyUntil(synchronous(10), 1000, 0.5, 0.5);
    let lost = 0;
    let dup = 0;
    for (let i = 0; i < 400; i++) {
      const a = net.deliveries(0, 1, i, r, MSG);
      if (a.length === 0) lost++;
      if (a.length === 2) dup++;
    }
    expect(lost).toBeGreaterThan(100);
    expect(dup).toBeGreaterThan(30);
    for (let i = 1000; i < 1400; i++) expect(net.deliveries(0, 1, i, r, MSG)).toHaveLength(1);
  });
  test('isolatedUntil: both directions held until the time, others untouched', () => {
    const r = new Rng(3);
    const net = isolatedUntil(fixedDelay(5), [2], 500);
    expect(net.deliveries(2, 0, 100, r, MSG)).toEqual([505]);
    expect(net.deliveries(0, 2, 100, r, MSG)).toEqual([505]);
    expect(net.deliveries(0, 1, 100, r, MSG)).toEqual([105]);
    expect(net.deliveries(2, 0, 600, r, MSG)).toEqual([605]);
  });
  test('networkFromJson builds nested models and names unknown kinds', () => {
    const net = networkFromJson({ kind: 'isolated-until', replicas: [1], until: 100, base: { kind: 'lossy-until', until: 50, loss: 0, duplication: 0, base: { kind: 'fixed-delay', delay: 3 } } });
    expect(net.deliveries(1, 0, 10, new Rng(1), MSG)).toEqual([103]);
    expect(() => networkFromJson({ kind: 'nope' } as never)).toThrow(/unknown network kind "nope"/);
  });
});

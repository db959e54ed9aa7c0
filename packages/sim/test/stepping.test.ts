import type { Protocol, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { utf8 } from '@bftx/crypto';
import { simulate, startSimulation, synchronous } from '../src/index';

/** Records, per replica, the transactions it was offered and when. */
function recorder(log: Array<[number, number, string]>): ProtocolDefinition<never> {
  return {
    name: 'recorder',
    create(config): Protocol<never> {
      return {
        self: config.self,
        step(input: ProtocolInput<never>): ProtocolOutput<never>[] {
          if (input.type === 'transactions') for (const tx of input.txs) log.push([input.now, config.self, new TextDecoder().decode(tx)]);
          return [];
        },
      };
    },
    encodeMessage: () => new Uint8Array(0),
    decodeMessage: () => {
      throw new Error('not used');
    },
    messageKind: () => 'none',
    votes: () => [],
    livenessBound: () => 0,
  };
}

const base = { n: 3, seed: 1, network: synchronous(5), timing: { delta: 5 }, duration: 100, trace: false };

test('a workload reaches every replica, or only the listed ones, at its time', () => {
  const log: Array<[number, number, string]> = [];
  simulate({ ...base, protocol: recorder(log), workload: [{ at: 30, txs: [utf8('all')] }, { at: 10, txs: [utf8('one')], to: [1] }] });
  expect(log).toEqual([
    [10, 1, 'one'],
    [30, 0, 'all'],
    [30, 1, 'all'],
    [30, 2, 'all'],
  ]);
});

test('a stepped simulation offers transactions as it goes and refuses to go back in time', () => {
  const log: Array<[number, number, string]> = [];
  const run = startSimulation({ ...base, protocol: recorder(log) });
  run.runUntil(20);
  expect(run.now).toBe(20);
  run.offer([utf8('now')], { to: [2] });
  run.offer([utf8('later')], { at: 50, to: [0] });
  run.runUntil(40);
  expect(log).toEqual([[20, 2, 'now']]);
  run.runUntil(100);
  expect(log).toEqual([
    [20, 2, 'now'],
    [50, 0, 'later'],
  ]);
  expect(() => run.offer([utf8('past')], { at: 10 })).toThrow(RangeError);
  expect(() => run.runUntil(99)).toThrow(RangeError);
});

test('running in steps gives the same result as one run', () => {
  const cfg = { ...base, protocol: recorder([]), workload: [{ at: 30, txs: [utf8('x')] }] };
  const whole = simulate(cfg);
  const run = startSimulation(cfg);
  for (let t = 0; t <= 100; t += 7) run.runUntil(t);
  run.runUntil(100);
  expect(JSON.stringify(run.result())).toBe(JSON.stringify(whole));
});

// The suite must fail protocols that break what it checks, with a replayable message: here toy
// protocols built from the consensus machinery alone (this package may not import a real protocol).
import { GENESIS, makeBlock, Outbox, type ProtocolDefinition } from '@bftx/consensus';
import { utf8 } from '@bftx/crypto';
import { runProblem, suiteFailure, type RunSpec } from '../src/index';

/** Every replica finalizes its own block at height 1 each tick: agreement breaks at once. */
function selfish(): ProtocolDefinition<string> {
  return {
    name: 'selfish',
    create(config) {
      const out = new Outbox<string>();
      return {
        self: config.self,
        step(input) {
          if (input.type === 'start') out.commit([makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: config.self, payload: [utf8(`mine-${config.self}`)] })]);
          return out.take();
        },
      };
    },
    encodeMessage: (m) => utf8(m),
    decodeMessage: (b) => new TextDecoder().decode(b),
    messageKind: () => 'none',
    livenessBound: (t) => 10 * t.delta,
    votes: () => [],
  };
}

/** Never finalizes anything: liveness breaks. */
function idle(): ProtocolDefinition<string> {
  return { ...selfish(), name: 'idle', create: (config) => ({ self: config.self, step: () => [] }) };
}

test('a protocol whose replicas finalize different blocks fails safety, with a replay command', () => {
  const failure = suiteFailure(selfish(), { safety: 5, evidence: 0, liveness: 0, twins: 0 });
  expect(failure).toMatch(/^safety/);
  const spec: RunSpec = { n: 4, seed: 1, network: { kind: 'synchronous', delta: 10 }, timing: { delta: 10 }, duration: 100 };
  expect(runProblem(selfish(), spec)).toMatch(/^safety: |^agreement: /);
});

test('a protocol that never finalizes fails liveness; the same runs pass where no liveness is owed', () => {
  expect(suiteFailure(idle(), { safety: 0, evidence: 0, liveness: 3, twins: 0 })).toMatch(/^liveness/);
  const spec: RunSpec = { n: 4, seed: 1, network: { kind: 'synchronous', delta: 10 }, timing: { delta: 10 }, duration: 300 };
  expect(runProblem(idle(), spec)).toBeUndefined();
  expect(runProblem(idle(), { ...spec, live: { from: 0, mode: 'eventually' } })).toMatch(/^liveness: replica 0 finalized nothing/);
});

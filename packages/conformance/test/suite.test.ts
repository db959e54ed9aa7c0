// The suite must fail protocols that break what it checks, with a replayable message: here toy
// protocols built from the consensus machinery alone (this package may not import a real protocol).
import { blockHash, BlockHeaderCodec, GENESIS, headerOf, makeBlock, Outbox, type CommitCheck, type ProtocolDefinition } from '@bftx/consensus';
import { encode, tryDecode, utf8 } from '@bftx/crypto';
import { certificateProblem, checkOutcome, runProblem, runSpec, suiteFailure, type RunSpec } from '../src/index';

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

/**
 * Every replica finalizes the same block at height 1, with a "certificate" that is only a header:
 * `verifyCommit` believes any header (no signatures). `names` picks the header each commit carries.
 */
function unsigned(names: 'own' | 'other', verdict: 'believe' | 'refuse' = 'believe'): ProtocolDefinition<string> {
  const block = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [utf8('agreed')] });
  const other = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 0, payload: [utf8('other')] });
  return {
    ...selfish(),
    name: `unsigned(${names}, ${verdict})`,
    create(config) {
      const out = new Outbox<string>();
      return {
        self: config.self,
        step(input) {
          if (input.type === 'start') out.commit([block], encode(BlockHeaderCodec, headerOf(names === 'own' ? block : other)));
          return out.take();
        },
      };
    },
    verifyCommit(certificate): CommitCheck {
      const h = tryDecode(BlockHeaderCodec, certificate);
      if (!h.ok || verdict === 'refuse') return { ok: false, reason: 'refused' };
      return { ok: true, height: h.value.height, blockHash: blockHash(h.value) };
    },
    byzantine: { thinCertificate: (c: Uint8Array) => c } as unknown as ProtocolDefinition<string>['byzantine'],
  };
}

test('commit certificates: one that does not verify, or names another block, fails the run; an unsigned one fails the tamper checks', () => {
  const spec: RunSpec = { n: 4, seed: 1, network: { kind: 'synchronous', delta: 10 }, timing: { delta: 10 }, duration: 100 };
  const check = (p: ProtocolDefinition<string>) => checkOutcome(p, spec, runSpec(p, spec, { checkCertificates: true }));
  expect(runProblem(unsigned('own', 'refuse'), spec)).toBeUndefined(); // not checked unless asked
  expect(check(unsigned('own', 'refuse'))).toMatch(/^commit certificate: replica 0: the certificate of height 1 does not verify: refused/);
  expect(check(unsigned('other'))).toMatch(/^commit certificate: replica 0: the certificate of the commit ending at height 1 \(\w+\) proves height 1 \(\w+\)/);
  expect(check(unsigned('own'))).toBeUndefined();
  // It names its block, but anyone could have made it: a flipped bit still "verifies".
  expect(certificateProblem(unsigned('own'), 4, runSpec(unsigned('own'), spec, { checkCertificates: true }), 1)).toMatch(/^replica 0, certificate of height 1: still verifies with bit \d+ of \d+ flipped/);
});

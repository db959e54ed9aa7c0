// Forensics beyond f (issue 22), on HotStuff: a split-brain coalition forks the chain, and the fork
// proof from two honest transcripts verifies with the keys alone; a proof that is short of f+1
// culprits, shows no fork, or carries a tampered certificate or forged evidence does not. (The
// property over every protocol and coalition size is in the conformance suite: splitBrainProperty.)
import { investigate, signStatement, type SimulatedSignatureScheme, verifyForkProof, type ForkProof } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { simulate, splitBrain } from '@bftx/sim';
import { hotstuff } from '../src/index';

const protocol = hotstuff();
const plan = splitBrain({ protocol, n: 4, coalition: [1, 2], seed: 3 });
const outcome = simulate(plan.config);
const { validators, scheme } = outcome.keys;
const transcripts = outcome.replicas.flatMap((r) => (r.transcript === undefined ? [] : [r.transcript]));

test('two colluding validators of four fork the chain: the run says it was the expected outcome', () => {
  expect(outcome.coalition).toEqual({ size: 2, f: 1, forkNeeds: 2, expectedFork: true });
  expect(outcome.verdict).toMatch(/^fork, as expected: 2 colluding validators of 4, at least the 2 that any two quorums of 3 share; height \d+: /);
  expect(transcripts.map((t) => t.replica).sort()).toEqual([0, 3]);
});

test('the fork proof from the two honest transcripts convicts both colluders, with the keys alone', () => {
  const report = investigate(protocol, validators, scheme, transcripts);
  expect(report.ignored).toEqual({ undecodable: 0, badSignatures: 0 });
  expect(report.proof).toBeDefined();
  expect(verifyForkProof(protocol, validators, scheme, report.proof!)).toEqual({ ok: true, height: report.fork!.first.height, convicted: [1, 2] });
  // Each conviction is a pair of the culprit's own statements for one slot and two blocks.
  for (const e of report.proof!.culprits) {
    expect([e.first.signer, e.second.signer]).toEqual([e.offender, e.offender]);
    expect([e.first.view, e.first.sequence, e.first.domain]).toEqual([e.second.view, e.second.sequence, e.second.domain]);
    expect(e.first.blockHash).not.toEqual(e.second.blockHash);
  }
});

test('one transcript alone shows no fork; garbage in a transcript is counted and ignored', () => {
  for (const t of transcripts) expect(investigate(protocol, validators, scheme, [t]).proof).toBeUndefined();
  const noisy = investigate(protocol, validators, scheme, [{ ...transcripts[0]!, messages: [Uint8Array.of(1, 2, 3), ...transcripts[0]!.messages] }, transcripts[1]!]);
  expect(noisy.ignored.undecodable).toBe(1);
  expect(noisy.proof?.culprits.map((e) => e.offender)).toEqual([1, 2]);
});

test('a proof that shows no fork, is short of f+1, or carries a tampered certificate or forged evidence is refused', () => {
  const proof = investigate(protocol, validators, scheme, transcripts).proof!;
  const check = (p: ForkProof) => verifyForkProof(protocol, validators, scheme, p);
  expect(check({ ...proof, second: proof.first })).toMatchObject({ ok: false, reason: expect.stringMatching(/no fork/) });
  expect(check({ ...proof, culprits: proof.culprits.slice(0, 1) })).toMatchObject({ ok: false, reason: expect.stringMatching(/1 distinct culprits; a fork implies at least f\+1 = 2/) });
  expect(check({ ...proof, culprits: [proof.culprits[0]!, proof.culprits[0]!] })).toMatchObject({ ok: false, reason: expect.stringMatching(/1 distinct culprits/) });
  const flipped = Uint8Array.from(proof.first.certificate);
  flipped[flipped.length - 1]! ^= 1;
  expect(check({ ...proof, first: { ...proof.first, certificate: flipped } })).toMatchObject({ ok: false, reason: expect.stringMatching(/certificate 1 does not verify/) });
  // A real equivocation, but not this fork's: validator 0 (which certified only side 1's block) double-signed elsewhere.
  const zero = (scheme as SimulatedSignatureScheme).signer((scheme as SimulatedSignatureScheme).keyPair(0).secretKey);
  const elsewhere = { kind: 'equivocation' as const, offender: 0, first: signStatement(zero, 0, Domains.vote, { view: 999, sequence: 0, blockHash: new Uint8Array(32).fill(1) }), second: signStatement(zero, 0, Domains.vote, { view: 999, sequence: 0, blockHash: new Uint8Array(32).fill(2) }) };
  expect(check({ ...proof, culprits: [elsewhere, proof.culprits[1]!] })).toEqual({ ok: false, reason: 'validator 0 signed one certificate only and its statements are not one in each: its equivocation is not this fork\'s' });
  // Validator 3 (honest) named as the offender of validator 1's statements: its key does not sign them.
  const framed = { ...proof.culprits[0]!, offender: 3 };
  expect(check({ ...proof, culprits: [framed, proof.culprits[1]!] })).toMatchObject({ ok: false, reason: 'the evidence against validator 3 does not verify' });
});

test('after common history (commonUntil), the fork is above a prefix both sides finalized, and still convicts only the colluders', () => {
  const later = splitBrain({ protocol, n: 4, coalition: [1, 2], seed: 3, commonUntil: 200 });
  const run = simulate(later.config);
  const report = investigate(protocol, run.keys.validators, run.keys.scheme, run.replicas.flatMap((r) => (r.transcript === undefined ? [] : [r.transcript])));
  expect(run.coalition.expectedFork).toBe(true);
  expect(report.fork!.first.height).toBeGreaterThan(5);
  expect(verifyForkProof(protocol, run.keys.validators, run.keys.scheme, report.proof!)).toMatchObject({ ok: true, convicted: [1, 2] });
  expect(report.culprits.map((e) => e.offender)).toEqual([1, 2]);
  for (const bad of [-1, 1.5, 600, 10_000]) expect(() => splitBrain({ protocol, n: 4, coalition: [1, 2], seed: 3, commonUntil: bad })).toThrow(RangeError);
});

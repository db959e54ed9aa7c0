// Fork proofs from hand-built Streamlet certificates (an outside attack on verifyForkProof found
// the refused cases below accepted: unfair-proposal evidence against honest leaders counted as
// fork culprits, malformed proofs threw, a getter turned one vote into two; the conformance
// property only generated honest-made proofs). n = 4, f = 1: validators 2 and 3 vote for both conflicting blocks
// A and B (views 3 and 4); honest 0 votes on side A only, honest 1 on side B only; all four
// voted for the common ancestor P, so all four signed both certificates.
import { Domains, createSignatureScheme, keyPairFromSeed } from '@bftx/crypto';
import { GENESIS, StatementVerifier, ValidatorSet, investigate, makeBlock, signStatement, unfairProposalEvidence, verifyEvidence, verifyForkProof, type Block, type ForkProof, type SignedStatement } from '@bftx/consensus';
import { streamlet, streamletCertificate } from '../src/index';

const scheme = createSignatureScheme('noble');
const n = 4;
const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(scheme, new Uint8Array(32).fill(i + 1)));
const signers = keys.map((k) => scheme.signer(k.secretKey));
const validators = new ValidatorSet(keys.map((k) => k.publicKey));
const protocol = streamlet();
const vote = (i: number, b: Block, view = b.view): SignedStatement => signStatement(signers[i]!, i, Domains.vote, { view, sequence: 0, blockHash: b.hash });
const tx = (k: number) => Uint8Array.of(0x5b, k, ...new Array<number>(30).fill(k));

const Q = makeBlock({ parent: GENESIS.hash, height: 1, view: 1, proposer: 1, payload: [tx(1)] });
const P = makeBlock({ parent: Q.hash, height: 2, view: 2, proposer: 0, payload: [tx(2)] });
const A = makeBlock({ parent: P.hash, height: 3, view: 3, proposer: 3, payload: [tx(3)] });
const B = makeBlock({ parent: P.hash, height: 3, view: 3, proposer: 3, payload: [tx(4)] });
const A2 = makeBlock({ parent: A.hash, height: 4, view: 4, proposer: 2, payload: [tx(5)] });
const B2 = makeBlock({ parent: B.hash, height: 4, view: 4, proposer: 2, payload: [tx(6)] });
const all = [0, 1, 2, 3];
const certA = streamletCertificate([P, A, A2], [all.map((i) => vote(i, P)), [0, 2, 3].map((i) => vote(i, A)), [0, 2, 3].map((i) => vote(i, A2))], n);
const certB = streamletCertificate([P, B, B2], [all.map((i) => vote(i, P)), [1, 2, 3].map((i) => vote(i, B)), [1, 2, 3].map((i) => vote(i, B2))], n);
const first = { height: 3, blockHash: A.hash, certificate: certA, signers: all };
const second = { height: 3, blockHash: B.hash, certificate: certB, signers: all };
const check = (proof: unknown) => verifyForkProof(protocol, validators, scheme, proof as ForkProof);
const equivocation = (i: number, x: SignedStatement, y: SignedStatement) => ({ kind: 'equivocation' as const, offender: i, first: x, second: y });

test('the two certificates alone convict the two that voted on both sides, and not the honest signers of the common ancestor', () => {
  const report = investigate(protocol, validators, scheme, [
    { replica: 0, messages: [], certificates: [certA] },
    { replica: 1, messages: [], certificates: [certB] },
  ]);
  expect(report.proof?.culprits.map((e) => e.offender)).toEqual([2, 3]);
  expect(check(report.proof)).toEqual({ ok: true, height: 3, convicted: [2, 3] });
  // The proof's culprits are the certificates' own signatures: the same as built by hand.
  expect(check({ first, second, culprits: [equivocation(2, vote(2, A), vote(2, B)), equivocation(3, vote(3, B2), vote(3, A2))] })).toEqual({ ok: true, height: 3, convicted: [2, 3] });
});

test('an unfair-proposal evidence never convicts for a fork (an honest leader\'s block without receive logs passes its check)', () => {
  const against = (b: Block) => unfairProposalEvidence(b, signStatement(signers[b.proposer]!, b.proposer, Domains.proposal, { view: b.view, sequence: 0, blockHash: b.hash }));
  expect(verifyEvidence(against(P), new StatementVerifier(validators, scheme))).toBe(true);
  expect(check({ first, second, culprits: [against(P), against(Q)] })).toEqual({ ok: false, reason: "a culprit's evidence is not an equivocation" });
});

test('an equivocation elsewhere counts only for a validator that signed both certificates (proven Byzantine either way; one that signed one is not this fork\'s)', () => {
  const twice = (i: number) => equivocation(i, signStatement(signers[i]!, i, Domains.vote, { view: 999, sequence: 0, blockHash: new Uint8Array(32).fill(1) }), signStatement(signers[i]!, i, Domains.vote, { view: 999, sequence: 0, blockHash: new Uint8Array(32).fill(2) }));
  // 2 and 3 signed both certificates: two blocks for one slot anywhere names them (no honest validator signs that).
  expect(check({ first, second, culprits: [twice(2), twice(3)] })).toEqual({ ok: true, height: 3, convicted: [2, 3] });
  // Certificates whose common ancestor is signed by different quorums: 0 signed only the first, 1 only the second.
  const splitA = streamletCertificate([P, A, A2], [[0, 2, 3].map((i) => vote(i, P)), [0, 2, 3].map((i) => vote(i, A)), [0, 2, 3].map((i) => vote(i, A2))], n);
  const splitB = streamletCertificate([P, B, B2], [[1, 2, 3].map((i) => vote(i, P)), [1, 2, 3].map((i) => vote(i, B)), [1, 2, 3].map((i) => vote(i, B2))], n);
  const [firstOfSplit, secondOfSplit] = [{ ...first, certificate: splitA, signers: [0, 2, 3] }, { ...second, certificate: splitB, signers: [1, 2, 3] }];
  expect(check({ first: firstOfSplit, second: secondOfSplit, culprits: [twice(0), twice(1)] })).toMatchObject({ ok: false, reason: expect.stringMatching(/validator 0 signed one certificate only/) });
  expect(check({ first: firstOfSplit, second: secondOfSplit, culprits: [equivocation(2, vote(2, A), vote(2, B)), equivocation(3, vote(3, A), vote(3, B))] })).toEqual({ ok: true, height: 3, convicted: [2, 3] });
});

test('a statement whose fields answer differently when read twice cannot turn one vote into two', () => {
  const genuine = vote(0, P);
  let reads = 0;
  const twisted = { ...genuine, get blockHash() { return reads++ === 0 ? new Uint8Array(32).fill(7) : genuine.blockHash; } };
  expect(check({ first, second, culprits: [equivocation(0, twisted as SignedStatement, genuine), equivocation(2, vote(2, A), vote(2, B))] })).toMatchObject({ ok: false });
});

test('what the proof says of its certificates must be what they hold', () => {
  const culprits = [equivocation(2, vote(2, A), vote(2, B)), equivocation(3, vote(3, A), vote(3, B))];
  expect(check({ first, second, culprits })).toMatchObject({ ok: true });
  for (const wrong of [{ ...first, height: 999 }, { ...first, blockHash: B.hash }, { ...first, signers: [0, 2, 3] }, { ...first, signers: 'all' }]) {
    expect(check({ first: wrong, second, culprits })).toMatchObject({ ok: false, reason: expect.stringMatching(/not what the certificate holds/) });
  }
});

test('malformed proofs and transcripts are refused or skipped, never thrown', () => {
  const proofs: unknown[] = [null, undefined, 5, {}, { first, second }, { first, second, culprits: null }, { first, second, culprits: 'xx' }, { first, second, culprits: [null] }, { first, second, culprits: [{}] },
    { first, second, culprits: [{ kind: 'equivocation', offender: 2 }] }, { first, second, culprits: [{ kind: 'equivocation', offender: 2, first: { signer: 2, domain: Domains.vote, view: 3, sequence: 0 }, second: vote(2, B) }] },
    { first: { ...first, certificate: 'abc' }, second, culprits: [] }, { first: { ...first, certificate: undefined }, second, culprits: [] }];
  for (const p of proofs) expect(check(p)).toMatchObject({ ok: false });
  const transcripts: unknown[] = [null, [null], [{}], [{ replica: 0, messages: null, certificates: null }], [{ replica: 0, messages: [5, 'x', Uint8Array.of(1)], certificates: [7, Uint8Array.of(1, 2)] }]];
  for (const t of transcripts) expect(investigate(protocol, validators, scheme, t as never).proof).toBeUndefined();
  expect(investigate(protocol, validators, scheme, transcripts[4] as never).ignored.undecodable).toBe(4);
});

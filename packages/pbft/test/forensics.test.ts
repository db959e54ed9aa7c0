// Fork proofs from hand-built PBFT certificates: both start from the stable checkpoint at sequence 8
// that all four validators signed before the fork, so every validator signed both. Validators 2
// and 3 commit two batches at sequence 9 in view 0 (honest 0 commits the first only, honest 1 the
// second). An outside attack found a proof naming only honest 0 and 1 accepted (their honest
// pre-prepares given as unfair-proposal evidence); only equivocations count.
import { Domains, createSignatureScheme, keyPairFromSeed } from '@bftx/crypto';
import { GENESIS, ValidatorSet, investigate, makeBlock, signStatement, unfairProposalEvidence, verifyForkProof, type Block, type ForkProof } from '@bftx/consensus';
import { batchDigest, pbft, pbftCertificate, PbftDomains } from '../src/index';

const scheme = createSignatureScheme('noble');
const n = 4;
const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(scheme, new Uint8Array(32).fill(i + 1)));
const signers = keys.map((k) => scheme.signer(k.secretKey));
const validators = new ValidatorSet(keys.map((k) => k.publicKey));
const protocol = pbft();
const tx = (k: number) => Uint8Array.of(0x5b, k, ...new Array<number>(30).fill(k));
const ZERO = new Uint8Array(32);

// The ledger up to 8, every batch by an honest primary (0 or 1).
const batches: Block[] = [];
let ledger8: Block = GENESIS;
for (let h = 1; h <= 8; h++) {
  batches.push(makeBlock({ parent: ZERO, height: h, view: 0, proposer: h % 2, payload: [tx(h)] }));
  ledger8 = makeBlock({ parent: ledger8.hash, height: h, view: 0, proposer: h % 2, payload: [tx(h)] });
}
const checkpoint = { sequence: 8, digest: ledger8.hash, statements: [0, 1, 2, 3].map((i) => signStatement(signers[i]!, i, PbftDomains.checkpoint, { view: 0, sequence: 8, blockHash: ledger8.hash })) };
const link = (payload: Uint8Array, who: number[]) => {
  const header = makeBlock({ parent: ledger8.hash, height: 9, view: 0, proposer: 2, payload: [payload] });
  return { header, commits: who.map((i) => signStatement(signers[i]!, i, PbftDomains.commit, { view: 0, sequence: 9, blockHash: batchDigest(header) })) };
};
const [a, b] = [link(tx(90), [0, 2, 3]), link(tx(91), [1, 2, 3])];
const first = { height: 9, blockHash: a.header.hash, certificate: pbftCertificate(checkpoint, [a], n), signers: [0, 1, 2, 3] };
const second = { height: 9, blockHash: b.header.hash, certificate: pbftCertificate(checkpoint, [b], n), signers: [0, 1, 2, 3] };
const check = (proof: unknown) => verifyForkProof(protocol, validators, scheme, proof as ForkProof);

test('the two certificates convict the two that committed both batches, not the honest signers of the shared checkpoint', () => {
  const report = investigate(protocol, validators, scheme, [
    { replica: 0, messages: [], certificates: [first.certificate] },
    { replica: 1, messages: [], certificates: [second.certificate] },
  ]);
  expect(report.proof?.culprits.map((e) => e.offender)).toEqual([2, 3]);
  expect(report.proof?.first.signers).toEqual([0, 1, 2, 3]);
  expect(check(report.proof)).toEqual({ ok: true, height: 9, convicted: [2, 3] });
});

test('honest primaries\' pre-prepares as unfair-proposal evidence convict no one for the fork; a proven equivocation by a signer of both certificates does', () => {
  const prePrepared = (batch: Block) => unfairProposalEvidence(batch, signStatement(signers[batch.proposer]!, batch.proposer, PbftDomains.prePrepare, { view: 0, sequence: batch.height, blockHash: batch.hash }));
  expect(check({ first, second, culprits: [prePrepared(batches[0]!), prePrepared(batches[1]!)] })).toEqual({ ok: false, reason: "a culprit's evidence is not an equivocation" });
  const twice = (i: number) => ({ kind: 'equivocation', offender: i, first: signStatement(signers[i]!, i, Domains.vote, { view: 7, sequence: 0, blockHash: new Uint8Array(32).fill(1) }), second: signStatement(signers[i]!, i, Domains.vote, { view: 7, sequence: 0, blockHash: new Uint8Array(32).fill(2) }) });
  // 0 and 1 signed the checkpoint both certificates carry: two blocks for one slot anywhere proves them
  // Byzantine (no honest validator signs that), so they count, as in a fork whose two sides
  // committed one sequence in different views (no pair inside the certificates).
  expect(check({ first, second, culprits: [twice(0), twice(1)] })).toEqual({ ok: true, height: 9, convicted: [0, 1] });
});

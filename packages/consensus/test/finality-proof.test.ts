// Commit certificates and finality proofs at the level every protocol shares: signature sets,
// vote chains, verifyFinality down a header chain, headersDown, and the commit output carrying a
// certificate through the driver.
import { Domains, utf8 } from '@bftx/crypto';
import fc from 'fast-check';
import {
  blockHash,
  checkVoteChain,
  commitChain,
  drive,
  encodeVoteChain,
  FifoPayloadPolicy,
  GENESIS,
  headerOf,
  headersDown,
  Ledger,
  makeBlock,
  noSignatures,
  Outbox,
  signatureSet,
  signatureSetProblem,
  signStatement,
  SimulatedSignatureScheme,
  thinSignatureSet,
  thinVoteChain,
  ValidatorSet,
  verifyFinality,
  type Block,
  type CommitCheck,
  type ProtocolDefinition,
  type SignatureSet,
} from '../src/index';

function cluster(n: number, keyBase = 0) {
  const scheme = new SimulatedSignatureScheme();
  const signers = Array.from({ length: n }, (_, i) => scheme.signer(scheme.keyPair(keyBase + i).secretKey));
  return { scheme, signers, validators: new ValidatorSet(signers.map((s) => s.publicKey)) };
}

type Cluster = ReturnType<typeof cluster>;

const child = (parent: Block, view: number, tag = 0): Block => makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: 0, payload: [Uint8Array.of(tag)] });

/** The votes of validators `who` for `block`, as a signature set. */
function votes(c: Cluster, block: Block, who: readonly number[]): SignatureSet {
  return signatureSet(
    who.map((i) => signStatement(c.signers[i]!, i, Domains.vote, { view: block.view, sequence: 0, blockHash: block.hash })),
    c.validators.n,
  );
}

/** A chain genesis <- b1 <- ... <- b<length>, views 1, 2, ... (consecutive). */
function chain(length: number): Block[] {
  const out = [GENESIS];
  for (let i = 1; i <= length; i++) out.push(child(out[i - 1]!, i, i));
  return out;
}

/** A toy protocol whose certificate is a three-block vote chain proving its first block (HotStuff's rule). */
const toy: ProtocolDefinition<string> = {
  name: 'toy',
  create: () => ({ self: 0, step: () => [] }),
  encodeMessage: (m) => utf8(m),
  decodeMessage: (b) => new TextDecoder().decode(b),
  messageKind: () => 'm',
  livenessBound: () => 1,
  votes: () => [],
  verifyCommit(certificate, validators, scheme): CommitCheck {
    const checked = checkVoteChain(certificate, 3, Domains.vote, validators, scheme);
    return typeof checked === 'string' ? { ok: false, reason: checked } : { ok: true, height: checked.headers[0]!.height, blockHash: checked.hashes[0]! };
  },
};

describe('signature sets', () => {
  const c = cluster(4);
  const b = child(GENESIS, 1);
  const fields = { domain: Domains.vote, view: 1, sequence: 0, blockHash: b.hash };
  test('a quorum of valid signatures passes; fewer, a bad one, a stray bit or the wrong keys do not', () => {
    expect(signatureSetProblem(votes(c, b, [0, 1, 2]), fields, c.validators, c.scheme)).toBeUndefined();
    expect(signatureSetProblem(votes(c, b, [0, 1, 2, 3]), fields, c.validators, c.scheme)).toBeUndefined();
    expect(signatureSetProblem(votes(c, b, [0, 1]), fields, c.validators, c.scheme)).toBe('2 signatures, fewer than a quorum (3)');
    expect(signatureSetProblem(thinSignatureSet(votes(c, b, [0, 1, 3]), 2), fields, c.validators, c.scheme)).toMatch(/fewer than a quorum/);
    const bad = votes(c, b, [0, 1, 2]);
    bad.signatures[1] = bad.signatures[1]!.slice();
    bad.signatures[1]![5]! ^= 1;
    expect(signatureSetProblem(bad, fields, c.validators, c.scheme)).toBe('the signature of validator 1 does not verify');
    const stray = votes(c, b, [0, 1, 2]);
    stray.signers[0]! |= 0x80; // validator 7 of 4
    expect(signatureSetProblem(stray, fields, c.validators, c.scheme)).toMatch(/signer 7 is not a validator/);
    expect(signatureSetProblem(votes(c, b, [0, 1, 2]), { ...fields, view: 2 }, c.validators, c.scheme)).toMatch(/does not verify/);
    const other = cluster(4, 100);
    expect(signatureSetProblem(votes(c, b, [0, 1, 2]), fields, other.validators, other.scheme)).toMatch(/does not verify/);
    expect(signatureSetProblem(votes(c, b, [0, 1, 2]), fields, cluster(9).validators, c.scheme)).toMatch(/bitmap of 1 bytes for 9 validators/);
  });
});

describe('vote chains', () => {
  const c = cluster(4);
  const q = [0, 1, 2];
  test('three certified blocks with consecutive views verify; genesis needs no votes', () => {
    const [g, b1, b2, b3] = chain(3) as [Block, Block, Block, Block];
    const cert = encodeVoteChain([b1, b2, b3], [votes(c, b1, q), votes(c, b2, q), votes(c, b3, q)]);
    const checked = checkVoteChain(cert, 3, Domains.vote, c.validators, c.scheme);
    expect(typeof checked).toBe('object');
    const fromGenesis = encodeVoteChain([g, b1, b2], [noSignatures(4), votes(c, b1, q), votes(c, b2, q)]);
    expect(typeof checkVoteChain(fromGenesis, 3, Domains.vote, c.validators, c.scheme)).toBe('object');
  });
  test('refused: views not consecutive, a broken link, a block without a quorum, genesis with votes, another length', () => {
    const [, b1, b2] = chain(2) as [Block, Block, Block];
    const gap = child(b2, 4); // view 4 after view 2
    expect(checkVoteChain(encodeVoteChain([b1, b2, gap], [votes(c, b1, q), votes(c, b2, q), votes(c, gap, q)]), 3, Domains.vote, c.validators, c.scheme)).toBe('views 2 and 4 are not consecutive');
    const stranger = makeBlock({ parent: GENESIS.hash, height: 3, view: 3, proposer: 0, payload: [] });
    expect(checkVoteChain(encodeVoteChain([b1, b2, stranger], [votes(c, b1, q), votes(c, b2, q), votes(c, stranger, q)]), 3, Domains.vote, c.validators, c.scheme)).toMatch(/does not link/);
    const b3 = child(b2, 3);
    expect(checkVoteChain(encodeVoteChain([b1, b2, b3], [votes(c, b1, q), votes(c, b2, [0, 1]), votes(c, b3, q)]), 3, Domains.vote, c.validators, c.scheme)).toMatch(/height 2 .*fewer than a quorum/);
    const genesisVotes = votes(c, b1, q);
    expect(checkVoteChain(encodeVoteChain([GENESIS, b1, b2], [genesisVotes, votes(c, b1, q), votes(c, b2, q)]), 3, Domains.vote, c.validators, c.scheme)).toBe('genesis carries votes');
    expect(checkVoteChain(encodeVoteChain([b1, b2], [votes(c, b1, q), votes(c, b2, q)]), 3, Domains.vote, c.validators, c.scheme)).toMatch(/expected 3/);
    // Thinned below a quorum.
    const cert = encodeVoteChain([b1, b2, b3], [votes(c, b1, q), votes(c, b2, q), votes(c, b3, q)]);
    expect(checkVoteChain(thinVoteChain(cert, 2)!, 3, Domains.vote, c.validators, c.scheme)).toMatch(/fewer than a quorum/);
  });
  test('any bytes: never throws, and garbage never verifies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = toy.verifyCommit!(bytes, c.validators, c.scheme);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('verifyFinality: a certificate and the headers below its block', () => {
  const c = cluster(4);
  const q = [0, 1, 3];
  const blocks = chain(8);
  const ledger = new Ledger();
  ledger.extend(blocks.slice(1));
  // The certificate of block 6 (the three-chain 6, 7, 8).
  const cert6 = encodeVoteChain([blocks[6]!, blocks[7]!, blocks[8]!], [votes(c, blocks[6]!, q), votes(c, blocks[7]!, q), votes(c, blocks[8]!, q)]);
  const cert4 = encodeVoteChain([blocks[4]!, blocks[5]!, blocks[6]!], [votes(c, blocks[4]!, q), votes(c, blocks[5]!, q), votes(c, blocks[6]!, q)]);

  test('the right chain proves each height below the certified one', () => {
    for (let h = 0; h <= 6; h++) {
      const headers = headersDown(ledger, 6, h)!;
      expect(headers.map((x) => x.height)).toEqual(Array.from({ length: 7 - h }, (_, i) => 6 - i));
      const r = verifyFinality(toy, c.validators, c.scheme, { certificate: cert6, headers });
      expect(r).toEqual({ ok: true, height: h, blockHash: blocks[h]!.hash });
    }
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: cert6, headers: [] })).toEqual({ ok: true, height: 6, blockHash: blocks[6]!.hash });
  });
  test('refused: a broken link, a header for another height, a certificate lower than the headers claim, a bad certificate', () => {
    const headers = headersDown(ledger, 6, 2)!;
    const broken = headers.map((h, i) => (i === 2 ? { ...h, proposer: h.proposer + 1 } : h));
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: cert6, headers: broken })).toEqual({ ok: false, reason: 'header 2 (height 4) is not the parent of the header above it' });
    const otherHeight = headers.map((h, i) => (i === 1 ? { ...h, height: 7 } : h));
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: cert6, headers: otherHeight })).toEqual({ ok: false, reason: 'header 1 is at height 7, expected 5' });
    // A forged header at the right height, hash-linked above but not the block certified.
    const forged = [headerOf(child(blocks[5]!, 6, 99)), ...headers.slice(1)];
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: cert6, headers: forged })).toEqual({ ok: false, reason: 'the first header is not the certified block' });
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: cert4, headers })).toEqual({ ok: false, reason: 'the certificate is for height 4, the first header is at height 6' });
    const thin = thinVoteChain(cert6, 2)!;
    expect(verifyFinality(toy, c.validators, c.scheme, { certificate: thin, headers }).ok).toBe(false);
    expect(verifyFinality({ ...toy, verifyCommit: undefined }, c.validators, c.scheme, { certificate: cert6, headers })).toEqual({ ok: false, reason: 'protocol toy has no commit certificates' });
  });
  test('headersDown: undefined outside the chain', () => {
    expect(headersDown(ledger, 9, 2)).toBeUndefined();
    expect(headersDown(ledger, 3, 4)).toBeUndefined();
    expect(headersDown(ledger, 3, -1)).toBeUndefined();
    expect(headersDown(ledger, 2, 2)!.map((h) => blockHash(h))).toEqual([blocks[2]!.hash]);
  });
});

test('a commit output carries its certificate through commitChain and the driver, encoded once when first read', () => {
  const out = new Outbox<string>();
  const [, b1, b2] = chain(2) as [Block, Block, Block];
  let built = 0;
  commitChain(out, [b1, b2], new FifoPayloadPolicy(), undefined, () => {
    built++;
    return Uint8Array.of(7);
  });
  commitChain(out, [child(b2, 3)], new FifoPayloadPolicy());
  const outputs = out.take();
  const driven = drive({ step: () => outputs }, [{ type: 'start', now: 0 }]);
  expect(driven.durable.commits.map((b) => b.height)).toEqual([1, 2, 3]);
  expect(driven.durable.certificates.map((x) => [x.block.height, x.certified])).toEqual([
    [2, true],
    [3, false],
  ]);
  expect(built).toBe(0); // nobody read it yet
  expect(driven.durable.certificates.map((x) => x.certificate)).toEqual([Uint8Array.of(7), undefined]);
  expect(outputs.filter((o) => o.type === 'commit').map((o) => (o as { certificate?: Uint8Array }).certificate)).toEqual([Uint8Array.of(7), undefined]);
  expect(built).toBe(1);
});

// PBFT's commit certificate proves the LEDGER block's hash (the batch's header chained to the block
// below), from a stable checkpoint or genesis: built by hand here, and taken from replicas in runs.
import { blockHash, GENESIS, makeBlock, signStatement, type Block, type BlockHeader, type SignedStatement } from '@bftx/consensus';
import { decode, encode } from '@bftx/crypto';
import { simulate, synchronous } from '@bftx/sim';
import { batchDigest, pbft, pbftCertificate, PbftCertificateCodec, PbftDomains, thinPbftCertificate, verifyPbftCommit, type CertifiedSequence } from '../src/index';
import { clusterKeys, cutOffScenario } from './helpers';

const keys = clusterKeys(4);
const header = (b: Block): BlockHeader => ({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot });
const sign = (by: number, domain: string, view: number, sequence: number, hash: Uint8Array): SignedStatement => signStatement(keys.signers[by]!, by, domain, { view, sequence, blockHash: hash });

/** Ledger blocks 1..count on genesis, as Pbft.execute makes them, each with commits of `who` in view `view`. */
function ledger(count: number, who = [0, 1, 2], view = 0): { blocks: Block[]; links: CertifiedSequence[] } {
  const blocks: Block[] = [GENESIS];
  const links: CertifiedSequence[] = [];
  for (let h = 1; h <= count; h++) {
    const b = makeBlock({ parent: blocks[h - 1]!.hash, height: h, view, proposer: view % 4, payload: [Uint8Array.of(h)] });
    blocks.push(b);
    links.push({ header: header(b), commits: who.map((i) => sign(i, PbftDomains.commit, view, h, batchDigest(header(b)))) });
  }
  return { blocks, links };
}

const GENESIS_POINT = { sequence: 0, digest: GENESIS.hash, statements: [] };

test('from genesis: a quorum of commits per sequence, chained by ledger hashes, proves the last ledger block', () => {
  const { blocks, links } = ledger(3);
  expect(batchDigest(links[0]!.header)).toEqual(makeBlock({ parent: new Uint8Array(32), height: 1, view: 0, proposer: 0, payload: [Uint8Array.of(1)] }).hash);
  const cert = pbftCertificate(GENESIS_POINT, links, 4);
  const check = verifyPbftCommit(cert, keys.validators, keys.scheme);
  expect(check).toMatchObject({ ok: true, height: 3, blockHash: blocks[3]!.hash });
  // The statements it carries (for forensics): a quorum of commits at each of sequences 1 to 3.
  const statements = check.ok ? check.statements! : [];
  for (const seq of [1, 2, 3]) expect(new Set(statements.filter((s) => s.sequence === seq).map((s) => s.signer)).size).toBeGreaterThanOrEqual(keys.validators.quorum);
  expect(statements.every((s) => s.domain === 'bftx.pbft.commit')).toBe(true);
});

test('from a stable checkpoint: the checkpoint alone proves its block; links above it prove theirs', () => {
  const { blocks, links } = ledger(5);
  const checkpoint = { sequence: 2, digest: blocks[2]!.hash, statements: [0, 2, 3].map((i) => sign(i, PbftDomains.checkpoint, 0, 2, blocks[2]!.hash)) };
  expect(verifyPbftCommit(pbftCertificate(checkpoint, [], 4), keys.validators, keys.scheme)).toMatchObject({ ok: true, height: 2, blockHash: blocks[2]!.hash });
  expect(verifyPbftCommit(pbftCertificate(checkpoint, links.slice(2), 4), keys.validators, keys.scheme)).toMatchObject({ ok: true, height: 5, blockHash: blocks[5]!.hash });
  const short = { ...checkpoint, statements: checkpoint.statements.slice(0, 2) };
  expect(verifyPbftCommit(pbftCertificate(short, [], 4), keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'checkpoint 2: 2 signatures, fewer than a quorum (3)' });
});

test('refused: a ledger header on another parent (the commits alone do not bind it), a gap, commits of another view, too few commits', () => {
  const { links } = ledger(3);
  const reparented = links.map((l, i) => (i === 1 ? { ...l, header: { ...l.header, parent: new Uint8Array(32).fill(7) } } : l));
  // The batch digest ignores the parent, so the commits still verify: the hash chain is what refuses it.
  expect(verifyPbftCommit(pbftCertificate(GENESIS_POINT, reparented, 4), keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'the block at height 2 does not extend the block below it' });
  expect(verifyPbftCommit(pbftCertificate(GENESIS_POINT, [links[0]!, links[2]!], 4), keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'a link at height 3 after height 1' });
  const decoded = decode(PbftCertificateCodec, pbftCertificate(GENESIS_POINT, links, 4));
  const otherView = encode(PbftCertificateCodec, { ...decoded, links: decoded.links.map((l, i) => (i === 2 ? { ...l, commitView: 1 } : l)) });
  expect(verifyPbftCommit(otherView, keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'commits for sequence 3: the signature of validator 0 does not verify' });
  expect(verifyPbftCommit(thinPbftCertificate(pbftCertificate(GENESIS_POINT, links, 4), 2)!, keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'commits for sequence 1: 2 signatures, fewer than a quorum (3)' });
  expect(verifyPbftCommit(new Uint8Array([1, 2, 3]), keys.validators, keys.scheme).ok).toBe(false);
  // A genesis checkpoint that is not genesis.
  expect(verifyPbftCommit(pbftCertificate({ sequence: 0, digest: blockHash(links[0]!.header), statements: [] }, [], 4), keys.validators, keys.scheme)).toEqual({ ok: false, reason: 'a checkpoint at sequence 0 that is not genesis' });
});

test('in runs: every commit of every replica carries a certificate that verifies and names its last block, a cut-off replica catching up included', () => {
  const plain = simulate({ protocol: pbft(), n: 4, seed: 3, network: synchronous(10), timing: { delta: 10 }, duration: 2_000, trace: false, checkCertificates: true, transactions: { every: 10, perBatch: 2 } });
  for (const r of plain.replicas) {
    expect(r.certificates.failed).toBeUndefined();
    expect(r.certificates.missing).toBe(0);
    expect(r.certificates.count).toBeGreaterThan(10);
  }
  const cut = simulate({ ...cutOffScenario(4, 5), protocol: pbft(), checkCertificates: true });
  const late = cut.replicas[3]!;
  expect(late.finalized).toBeGreaterThan(0);
  for (const r of cut.replicas.filter((x) => x.honest)) expect(r.certificates.failed).toBeUndefined();
  expect(late.certificates.count).toBeGreaterThan(0);
});

test('a checkpoint proof from a peer that carries a bad signature besides its quorum: the certificate holds only valid ones', () => {
  const { blocks } = ledger(8);
  const digest = blocks[8]!.hash;
  const bad = { ...sign(3, PbftDomains.checkpoint, 0, 8, digest), signature: new Uint8Array(64).fill(9) };
  const proof = { sequence: 8, digest, statements: [bad, ...[0, 1, 2].map((i) => sign(i, PbftDomains.checkpoint, 0, 8, digest))] };
  const replica = pbft().create({ self: 3, validators: keys.validators, scheme: keys.scheme, signer: keys.signers[3]!, timing: { delta: 10 } });
  replica.step({ type: 'start', now: 0 });
  const out = replica.step({ type: 'message', from: 1, message: { type: 'final', proof, blocks: blocks.slice(1), headers: [] }, now: 1 });
  const commits = out.filter((o) => o.type === 'commit');
  expect(commits.map((c) => c.blocks.length)).toEqual([8]);
  expect(verifyPbftCommit(commits[0]!.certificate!, keys.validators, keys.scheme)).toMatchObject({ ok: true, height: 8, blockHash: digest });
});

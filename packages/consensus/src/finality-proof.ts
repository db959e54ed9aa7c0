// Finality a light client can check: a commit certificate (the signed statements that made a block
// final, and the headers they link) verified against the validator set alone, and a finality proof
// (a certificate and the headers from its block down to a lower one) for any height below it.
// Everything here is pure and never throws on bytes from outside: malformed means `ok: false`.
import { bytesEqual, codec, encode, tryDecode, type DomainTag, type SignatureScheme } from '@bftx/crypto';
import { blockHash, BlockHeaderCodec, GENESIS, type Block, type BlockHeader } from './block';
import { signersOf, type QuorumCertificate } from './certificate';
import type { FinalizedChain, ProtocolDefinition } from './protocol';
import { StatementCodec, type SignedStatement } from './statement';
import type { ValidatorSet } from './validators';

/** What `ProtocolDefinition.verifyCommit` and `verifyFinality` answer: the block proven final, or why not. */
export type CommitCheck =
  | {
      readonly ok: true;
      readonly height: number;
      readonly blockHash: Uint8Array;
      /**
       * The signed statements the certificate carries (each signature of its sets with the fields
       * it signs), all verified: for forensics, who certified what in which slot.
       */
      readonly statements?: readonly SignedStatement[];
    }
  | { readonly ok: false; readonly reason: string };

/** Most validators a signature set can name (the bitmap's bound), and most signatures it carries. */
export const MAX_CERTIFICATE_VALIDATORS = 8192;
/** Most bytes of one encoded certificate (the finality proof codec's bound). */
export const MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024;
/** Most headers a finality proof carries below its certificate's block. */
export const MAX_PROOF_HEADERS = 100_000;

/**
 * Signatures of distinct validators on one statement whose fields the certificate around it
 * implies (domain, view, sequence, block hash are not repeated): bit i of `signers` is validator i,
 * `signatures` in ascending signer order. The bitmap is exactly ceil(n/8) bytes.
 */
export const SignatureSetCodec = codec.record({
  signers: codec.bytes(MAX_CERTIFICATE_VALIDATORS / 8),
  signatures: codec.array(codec.bytes(64), MAX_CERTIFICATE_VALIDATORS),
});
export type SignatureSet = codec.Infer<typeof SignatureSetCodec>;

/** The signature set of statements (one per signer is used), for n validators. */
export function signatureSet(statements: readonly SignedStatement[], n: number): SignatureSet {
  const bySigner = new Map<number, Uint8Array>();
  for (const s of statements) if (!bySigner.has(s.signer)) bySigner.set(s.signer, s.signature);
  const signers = new Uint8Array(Math.ceil(n / 8));
  const ordered = [...bySigner.keys()].sort((a, b) => a - b);
  for (const i of ordered) signers[i >> 3]! |= 1 << (i & 7);
  return { signers, signatures: ordered.map((i) => bySigner.get(i)!) };
}

/** Each signature of a set as the signed statement it is (the set's signers in order, one signature each). */
export function statementsOf(set: SignatureSet, fields: SignedFields): SignedStatement[] {
  return signersOf(set.signers).map((signer, k) => ({ domain: fields.domain, view: fields.view, sequence: fields.sequence, blockHash: fields.blockHash, signer, signature: set.signatures[k]! }));
}

/** A quorum certificate's signatures as a signature set (the same bitmap and order). */
export function qcSignatures(qc: QuorumCertificate): SignatureSet {
  return { signers: qc.signers, signatures: qc.signatures as Uint8Array[] };
}

/** The statement fields every signature of a set signs. */
export interface SignedFields {
  readonly domain: DomainTag;
  readonly view: number;
  readonly sequence: number;
  readonly blockHash: Uint8Array;
}

/**
 * Why `set` is not a quorum's signatures on `fields` (undefined when it is): the bitmap sized for
 * the validator set, at least `validators.quorum` distinct signers, one signature each, every one
 * valid under that validator's key. Every signature is checked, not only the first quorum.
 */
export function signatureSetProblem(set: SignatureSet, fields: SignedFields, validators: ValidatorSet, scheme: SignatureScheme): string | undefined {
  if (set.signers.length !== Math.ceil(validators.n / 8)) return `a signer bitmap of ${set.signers.length} bytes for ${validators.n} validators`;
  const signers: number[] = [];
  for (let i = 0; i < set.signers.length * 8; i++) if ((set.signers[i >> 3]! >> (i & 7)) & 1) signers.push(i);
  if (signers.length > 0 && signers[signers.length - 1]! >= validators.n) return `signer ${signers[signers.length - 1]} is not a validator (n = ${validators.n})`;
  if (signers.length !== set.signatures.length) return `${signers.length} signers but ${set.signatures.length} signatures`;
  if (signers.length < validators.quorum) return `${signers.length} signatures, fewer than a quorum (${validators.quorum})`;
  let message: Uint8Array;
  try {
    message = encode(StatementCodec, { view: fields.view, sequence: fields.sequence, blockHash: fields.blockHash });
  } catch {
    return 'statement fields out of range';
  }
  for (let k = 0; k < signers.length; k++) {
    let ok = false;
    try {
      ok = scheme.verify(validators.key(signers[k]!), fields.domain, message, set.signatures[k]!);
    } catch {
      ok = false;
    }
    if (!ok) return `the signature of validator ${signers[k]} does not verify`;
  }
  return undefined;
}

/**
 * A signature set cut to its first `keep` signers: what a Byzantine replica serving a certificate
 * with too few signatures sends (`ByzantineHooks.thinCertificate` uses it).
 */
export function thinSignatureSet(set: SignatureSet, keep: number): SignatureSet {
  const signers = new Uint8Array(set.signers.length);
  let kept = 0;
  for (let i = 0; i < set.signers.length * 8 && kept < keep; i++) {
    if ((set.signers[i >> 3]! >> (i & 7)) & 1) {
      signers[i >> 3]! |= 1 << (i & 7);
      kept++;
    }
  }
  return { signers, signatures: set.signatures.slice(0, kept) };
}

/** The header of a block (what its hash covers). */
export function headerOf(block: BlockHeader): BlockHeader {
  return { parent: block.parent, height: block.height, view: block.view, proposer: block.proposer, payloadRoot: block.payloadRoot };
}

// ---- vote chains: Streamlet's notarized chains and HotStuff's certified chains ----

/**
 * Consecutive blocks (each the parent of the next, lowest first) with the quorum of `bftx.vote`
 * statements that certified each one (Streamlet's notarizations, HotStuff's QCs): a vote signs
 * (the block's view, sequence 0, its hash). `votes[i]` certifies `headers[i]`; genesis needs none
 * (its set is empty). The certificate format of both vote-chain protocols: which block of the chain
 * is final is each protocol's rule.
 */
export const VoteChainCertificateCodec = codec.record({
  headers: codec.array(BlockHeaderCodec, 8),
  votes: codec.array(SignatureSetCodec, 8),
});
export type VoteChainCertificate = codec.Infer<typeof VoteChainCertificateCodec>;

/** The headers of a checked vote chain and their hashes. */
export interface CheckedVoteChain {
  readonly headers: readonly BlockHeader[];
  readonly hashes: readonly Uint8Array[];
  /** Every vote the chain carries, as signed statements (checked). */
  readonly statements: readonly SignedStatement[];
}

/**
 * Decodes and checks a vote-chain certificate of exactly `length` blocks: hash links, heights one
 * apart, views consecutive (each one more than the one before), every block but genesis certified
 * by a quorum of valid votes. A string says what is wrong.
 */
export function checkVoteChain(certificate: Uint8Array, length: number, domain: DomainTag, validators: ValidatorSet, scheme: SignatureScheme): CheckedVoteChain | string {
  const decoded = tryDecode(VoteChainCertificateCodec, certificate);
  if (!decoded.ok) return `malformed certificate: ${decoded.error.message}`;
  const { headers, votes } = decoded.value;
  if (headers.length !== length || votes.length !== length) return `a chain of ${headers.length} headers and ${votes.length} vote sets (expected ${length} of each)`;
  const hashes = headers.map((h) => blockHash(h));
  const statements: SignedStatement[] = [];
  for (let i = 0; i < length; i++) {
    const h = headers[i]!;
    if (i > 0) {
      const below = headers[i - 1]!;
      if (!bytesEqual(h.parent, hashes[i - 1]!)) return `header ${i} (height ${h.height}) does not link to the one below it`;
      if (h.height !== below.height + 1) return `header ${i} is at height ${h.height}, its parent at ${below.height}`;
      if (h.view !== below.view + 1) return `views ${below.view} and ${h.view} are not consecutive`;
    }
    if (bytesEqual(hashes[i]!, GENESIS.hash)) {
      if (votes[i]!.signatures.length !== 0 || votes[i]!.signers.some((b) => b !== 0)) return 'genesis carries votes';
      continue;
    }
    const fields = { domain, view: h.view, sequence: 0, blockHash: hashes[i]! };
    const problem = signatureSetProblem(votes[i]!, fields, validators, scheme);
    if (problem !== undefined) return `block at height ${h.height} (view ${h.view}): ${problem}`;
    statements.push(...statementsOf(votes[i]!, fields));
  }
  return { headers, hashes, statements };
}

/** Encodes a vote-chain certificate: blocks lowest first, each with the votes that certified it (none for genesis). */
export function encodeVoteChain(blocks: readonly Block[], votes: readonly SignatureSet[]): Uint8Array {
  return encode(VoteChainCertificateCodec, { headers: blocks.map(headerOf), votes: votes as SignatureSet[] });
}

/** The empty signature set genesis carries in a vote chain. */
export function noSignatures(n: number): SignatureSet {
  return { signers: new Uint8Array(Math.ceil(n / 8)), signatures: [] };
}

// ---- finality proofs: a certificate and the headers below it ----

/** A certificate for some height H and the headers from H down to the block it proves (see `verifyFinality`). */
export interface FinalityProof {
  readonly certificate: Uint8Array;
  readonly headers: readonly BlockHeader[];
}

export const FinalityProofCodec = codec.record({
  certificate: codec.bytes(MAX_CERTIFICATE_BYTES),
  headers: codec.array(BlockHeaderCodec, MAX_PROOF_HEADERS),
});

/**
 * Checks that a block is final from a finality proof, knowing only the validator set and the
 * protocol: `proof.certificate` must verify (`def.verifyCommit`) for some height H and block;
 * `proof.headers[0]` must be that block's header (its hash and height H), and each next header
 * the parent of the one before (its hash is the one before's `parent`, its height one less). The
 * block proven is the last header's (or the certificate's own block when `headers` is empty).
 * Never throws.
 */
export function verifyFinality<M>(def: ProtocolDefinition<M>, validators: ValidatorSet, scheme: SignatureScheme, proof: FinalityProof): CommitCheck {
  if (def.verifyCommit === undefined) return { ok: false, reason: `protocol ${def.name} has no commit certificates` };
  let check: CommitCheck;
  try {
    check = def.verifyCommit(proof.certificate, validators, scheme);
  } catch (e) {
    return { ok: false, reason: `certificate check failed: ${String(e)}` };
  }
  if (!check.ok) return check;
  const headers = proof.headers;
  if (!Array.isArray(headers)) return { ok: false, reason: 'headers must be an array' };
  let height = check.height;
  let hash = check.blockHash;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    let computed: Uint8Array;
    try {
      computed = blockHash(h);
    } catch {
      return { ok: false, reason: `header ${i} is malformed` };
    }
    const expectedHeight = i === 0 ? check.height : height - 1;
    if (h.height !== expectedHeight) return { ok: false, reason: i === 0 ? `the certificate is for height ${check.height}, the first header is at height ${h.height}` : `header ${i} is at height ${h.height}, expected ${expectedHeight}` };
    const expectedHash = i === 0 ? check.blockHash : headers[i - 1]!.parent;
    if (!bytesEqual(computed, expectedHash)) return { ok: false, reason: i === 0 ? `the first header is not the certified block` : `header ${i} (height ${h.height}) is not the parent of the header above it` };
    height = h.height;
    hash = computed;
  }
  return { ok: true, height, blockHash: hash };
}

/**
 * The headers from height `from` down to height `to` (inclusive) of a finalized chain: what a
 * replica serves with the certificate of `from` (the nearest height at or above `to` that has one)
 * to prove the block at `to`. Undefined if the chain lacks any of them.
 */
export function headersDown(chain: FinalizedChain, from: number, to: number): BlockHeader[] | undefined {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < 0 || from < to || from > chain.height) return undefined;
  const out: BlockHeader[] = [];
  for (let h = from; h >= to; h--) {
    const b = chain.at(h);
    if (b === undefined) return undefined;
    out.push(headerOf(b));
  }
  return out;
}

/** A vote-chain certificate with every vote set cut to its first `keep` signers (see `ByzantineHooks.thinCertificate`). */
export function thinVoteChain(certificate: Uint8Array, keep: number): Uint8Array | undefined {
  const decoded = tryDecode(VoteChainCertificateCodec, certificate);
  if (!decoded.ok) return undefined;
  return encode(VoteChainCertificateCodec, { headers: decoded.value.headers, votes: decoded.value.votes.map((v) => thinSignatureSet(v, keep)) });
}

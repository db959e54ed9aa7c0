import { codec, type DomainTag } from '@bftx/crypto';
import { HASH_BYTES } from './block';
import type { SignedStatement, StatementVerifier } from './statement';

/**
 * A quorum certificate: signatures of at least a quorum of distinct
 * validators on one statement. Signers are a bitmap (bit i = validator i);
 * signatures are in ascending signer order.
 */
export interface QuorumCertificate {
  readonly domain: DomainTag;
  readonly view: number;
  readonly sequence: number;
  readonly blockHash: Uint8Array;
  readonly signers: Uint8Array;
  readonly signatures: readonly Uint8Array[];
}

export const CertificateCodec = codec.record({
  domain: codec.string(64),
  view: codec.uint(),
  sequence: codec.uint(),
  blockHash: codec.fixedBytes(HASH_BYTES),
  signers: codec.bytes(1024),
  signatures: codec.array(codec.bytes(64), 8192),
});

/** Validator indexes whose bit is set, ascending. */
export function signersOf(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bitmap.length * 8; i++) if ((bitmap[i >> 3]! >> (i & 7)) & 1) out.push(i);
  return out;
}

/** A certificate from statements on the same block (one per signer is used). */
export function makeCertificate(statements: readonly SignedStatement[], n: number): QuorumCertificate {
  const first = statements[0];
  if (first === undefined) throw new Error('a certificate needs at least one statement');
  const bySigner = new Map<number, SignedStatement>();
  for (const s of statements) if (!bySigner.has(s.signer)) bySigner.set(s.signer, s);
  const signers = new Uint8Array(Math.ceil(n / 8));
  const ordered = [...bySigner.keys()].sort((a, b) => a - b);
  for (const i of ordered) signers[i >> 3]! |= 1 << (i & 7);
  return { domain: first.domain, view: first.view, sequence: first.sequence, blockHash: first.blockHash, signers, signatures: ordered.map((i) => bySigner.get(i)!.signature) };
}

/** True iff at least a quorum of distinct validators signed exactly this statement. */
export function verifyCertificate(qc: QuorumCertificate, verifier: StatementVerifier): boolean {
  if (verifier.verifiedCertificates.has(qc)) return true;
  const v = verifier.validators;
  if (!(qc.signers instanceof Uint8Array) || qc.signers.length !== Math.ceil(v.n / 8)) return false;
  const signers = signersOf(qc.signers);
  if (signers.length < v.quorum || signers.length !== qc.signatures.length || signers[signers.length - 1]! >= v.n) return false;
  const ok = signers.every((signer, i) => verifier.verify({ domain: qc.domain, view: qc.view, sequence: qc.sequence, blockHash: qc.blockHash, signer, signature: qc.signatures[i]! }));
  // Certificates are immutable values; one verified is valid for this validator set whenever seen again.
  if (ok) verifier.verifiedCertificates.add(qc);
  return ok;
}

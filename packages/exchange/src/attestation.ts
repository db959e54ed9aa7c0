import { codec, Domains, encode, type SignatureScheme, type Signer } from '@bftx/crypto';
import type { ValidatorSet } from '@bftx/consensus';
import { ExchangeError } from './errors';

const HASH = codec.fixedBytes(32);

/** What a replica attests after applying finalized block `height`: that block's hash and the state root it reached. */
export interface AttestedStatement {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly stateRoot: Uint8Array;
}

/** The signed bytes of an attestation (Domains.attestation): the statement alone, so any signer's signature is over the same bytes. */
export const AttestationStatementCodec = codec.record({ height: codec.uint(), blockHash: HASH, stateRoot: HASH });

/** One validator's signed execution attestation, as it travels. */
export const AttestationCodec = codec.record({ height: codec.uint(), blockHash: HASH, stateRoot: HASH, signer: codec.uint(0xffff), signature: codec.fixedBytes(64) });
export type Attestation = codec.Infer<typeof AttestationCodec>;

function statementBytes(s: AttestedStatement): Uint8Array {
  return encode(AttestationStatementCodec, { height: s.height, blockHash: s.blockHash, stateRoot: s.stateRoot });
}

/**
 * Validator `validator` (its index in the validator set) attests that after applying block
 * `height` with hash `blockHash` its state root is `stateRoot`. Throws EncodeError on a
 * statement that does not fit the codec (a hash not 32 bytes, a negative height).
 */
export function signAttestation(signer: Signer, validator: number, s: AttestedStatement): Attestation {
  const signature = signer.sign(Domains.attestation, statementBytes(s));
  const a: Attestation = { height: s.height, blockHash: s.blockHash.slice(), stateRoot: s.stateRoot.slice(), signer: validator, signature };
  encode(AttestationCodec, a); // checks the signer index fits
  return a;
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Counts the distinct validators (in range of `validators`) whose attestation is over exactly
 * statement `s` (height, block hash and state root all equal) and whose signature verifies under
 * their key. ok iff at least `threshold` of them; `signers` sorted ascending. A duplicate signer
 * counts once; an attestation over another statement, from an index outside the set, or with a
 * bad signature does not count (and does not fail the others).
 */
export function verifyAttestations(
  validators: ValidatorSet,
  scheme: SignatureScheme,
  s: AttestedStatement,
  attestations: readonly Attestation[],
  threshold: number,
): { ok: true; signers: number[] } | { ok: false; reason: string } {
  if (!Number.isSafeInteger(threshold) || threshold < 1) return { ok: false, reason: `threshold must be a positive integer, got ${threshold}` };
  let bytes: Uint8Array;
  try {
    bytes = statementBytes(s);
  } catch (e) {
    return { ok: false, reason: `malformed statement: ${e instanceof Error ? e.message : String(e)}` };
  }
  const signers = new Set<number>();
  const refused: string[] = [];
  for (const a of attestations) {
    if (!validators.has(a.signer)) {
      refused.push(`signer ${String(a.signer)} is not a validator`);
      continue;
    }
    if (signers.has(a.signer)) continue;
    if (!(a.blockHash instanceof Uint8Array) || !(a.stateRoot instanceof Uint8Array) || a.height !== s.height || !equalBytes(a.blockHash, s.blockHash) || !equalBytes(a.stateRoot, s.stateRoot)) {
      refused.push(`validator ${a.signer} attests another statement`);
      continue;
    }
    if (!(a.signature instanceof Uint8Array) || !scheme.verify(validators.key(a.signer), Domains.attestation, bytes, a.signature)) {
      refused.push(`validator ${a.signer}: signature does not verify`);
      continue;
    }
    signers.add(a.signer);
  }
  if (signers.size >= threshold) return { ok: true, signers: [...signers].sort((x, y) => x - y) };
  const why = refused.length > 0 ? ` (${refused.slice(0, 4).join('; ')}${refused.length > 4 ? `; ${refused.length - 4} more` : ''})` : '';
  return { ok: false, reason: `${signers.size} valid attestations from distinct validators, ${threshold} needed${why}` };
}

/**
 * How many attestations a reader needs: 'f+1' (at least one honest validator executed to this
 * root: enough for a reader who trusts that honest replicas execute correctly) or '2f+1' (a
 * quorum, ceil(2n/3) in ValidatorSet's terms).
 */
export function attestationThreshold(validators: ValidatorSet, mode: 'f+1' | '2f+1'): number {
  if (mode === 'f+1') return validators.threshold('one-honest');
  if (mode === '2f+1') return validators.threshold('quorum');
  throw new ExchangeError('INVALID_ARGUMENT', `attestation threshold mode must be 'f+1' or '2f+1', got ${JSON.stringify(mode)}`);
}

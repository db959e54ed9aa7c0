import { codec, encode, toHex, type DomainTag, type SignatureScheme, type Signer } from '@bftx/crypto';
import { HASH_BYTES } from './block';
import type { ValidatorSet } from './validators';

/**
 * What a validator signs: "in (epoch, phase), I back block `blockHash`".
 * Votes, proposals, prepares and commits are all statements under their own
 * domain tag; two statements by one key with the same domain, epoch and
 * phase but different blocks are an equivocation.
 */
export const StatementCodec = codec.record({
  epoch: codec.uint(),
  phase: codec.uint(255),
  blockHash: codec.fixedBytes(HASH_BYTES),
});
export type Statement = codec.Infer<typeof StatementCodec>;

export interface SignedStatement extends Statement {
  readonly domain: DomainTag;
  readonly signer: number;
  readonly signature: Uint8Array;
}

export function signStatement(signer: Signer, self: number, domain: DomainTag, s: Statement): SignedStatement {
  return { domain, epoch: s.epoch, phase: s.phase, blockHash: s.blockHash, signer: self, signature: signer.sign(domain, encode(StatementCodec, s)) };
}

/**
 * Verifies signatures once: a bounded cache of statements already checked, so
 * a vote seen directly, echoed, and inside a certificate costs one verification.
 */
export class StatementVerifier {
  private readonly seen = new Map<string, boolean>();
  verifications = 0;
  constructor(
    readonly validators: ValidatorSet,
    readonly scheme: SignatureScheme,
    private readonly maxCached = 100_000,
  ) {}

  verify(s: SignedStatement): boolean {
    if (!this.validators.has(s.signer) || !(s.signature instanceof Uint8Array)) return false;
    const key = `${s.domain}|${s.signer}|${s.epoch}|${s.phase}|${toHex(s.blockHash)}|${toHex(s.signature)}`;
    const cached = this.seen.get(key);
    if (cached !== undefined) return cached;
    this.verifications++;
    let ok: boolean;
    try {
      ok = this.scheme.verify(this.validators.key(s.signer), s.domain, encode(StatementCodec, s), s.signature);
    } catch {
      ok = false; // malformed statement fields
    }
    if (this.seen.size >= this.maxCached) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, ok);
    return ok;
  }
}

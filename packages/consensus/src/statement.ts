import { bytesEqual, codec, encode, type DomainTag, type SignatureScheme, type Signer } from '@bftx/crypto';
import { HASH_BYTES } from './block';
import type { ValidatorSet } from './validators';

/**
 * What a validator signs: "in (view, sequence), I back block `blockHash`".
 * Votes, proposals, prepares and commits are all statements under their own
 * domain tag; two statements by one key with the same domain, view and
 * sequence but different blocks are an equivocation. `sequence` is a position within
 * a view (PBFT's sequence number in a view); 0 where a view decides once.
 */
export const StatementCodec = codec.record({
  view: codec.uint(),
  sequence: codec.uint(),
  blockHash: codec.fixedBytes(HASH_BYTES),
});
export type Statement = codec.Infer<typeof StatementCodec>;

export interface SignedStatement extends Statement {
  readonly domain: DomainTag;
  readonly signer: number;
  readonly signature: Uint8Array;
}

export function signStatement(signer: Signer, self: number, domain: DomainTag, s: Statement): SignedStatement {
  return { domain, view: s.view, sequence: s.sequence, blockHash: s.blockHash, signer: self, signature: signer.sign(domain, encode(StatementCodec, s)) };
}

/**
 * Verifies signatures once: a bounded cache of statements already checked, so
 * a vote seen directly, echoed, and inside a certificate costs one verification.
 * Entries are found by the signature's first six bytes (a number: no string is
 * built on the hot path) and must match the whole statement and signature.
 */
export class StatementVerifier {
  private readonly seen = new Map<number, CacheEntry[]>();
  private cached = 0;
  /** Certificate objects already verified in full (a certificate seen again costs nothing). */
  readonly verifiedCertificates = new WeakSet<object>();
  verifications = 0;
  constructor(
    readonly validators: ValidatorSet,
    readonly scheme: SignatureScheme,
    private readonly maxCached = 100_000,
  ) {}

  /**
   * The signature check `verify(s)` would make (the signer's key, the domain, the statement's
   * bytes, the signature), or undefined when it would make none: verified before, or refused
   * without one (not a validator, malformed fields). A runtime checks these ahead, elsewhere (a
   * worker pool), and gives this verifier a scheme that remembers the verdicts.
   */
  signatureCheck(s: SignedStatement): { publicKey: Uint8Array; domain: DomainTag; payload: Uint8Array; signature: Uint8Array } | undefined {
    const sig = s.signature;
    if (!this.validators.has(s.signer) || !(sig instanceof Bytes) || sig.length < 6) return undefined;
    if (this.cachedVerdict(s, sig) !== undefined) return undefined;
    try {
      return { publicKey: this.validators.key(s.signer), domain: s.domain, payload: encode(StatementCodec, s), signature: sig };
    } catch {
      return undefined;
    }
  }

  private cachedVerdict(s: SignedStatement, sig: Uint8Array): boolean | undefined {
    const bucket = this.seen.get(cacheKey(sig));
    if (bucket === undefined) return undefined;
    for (const e of bucket) {
      if (e.signer === s.signer && e.view === s.view && e.sequence === s.sequence && e.domain === s.domain && bytesEqual(e.blockHash, s.blockHash) && bytesEqual(e.signature, sig)) return e.ok;
    }
    return undefined;
  }

  verify(s: SignedStatement): boolean {
    const sig = s.signature;
    if (!this.validators.has(s.signer) || !(sig instanceof Bytes) || sig.length < 6) return false;
    const key = cacheKey(sig);
    const bucket = this.seen.get(key);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.signer === s.signer && e.view === s.view && e.sequence === s.sequence && e.domain === s.domain && bytesEqual(e.blockHash, s.blockHash) && bytesEqual(e.signature, sig)) return e.ok;
      }
    }
    this.verifications++;
    let ok: boolean;
    try {
      ok = this.scheme.verify(this.validators.key(s.signer), s.domain, encode(StatementCodec, s), sig);
    } catch {
      ok = false; // malformed statement fields
    }
    // Bounded: when full, start over (cheaper than LRU bookkeeping; a miss only costs a verification).
    if (this.cached >= this.maxCached) {
      this.seen.clear();
      this.cached = 0;
    }
    // Only good signatures are kept: the key is six bytes the sender chooses, and a bad signature
    // costs its sender nothing to shape, so a flood of them would pile into one bucket and make every
    // lookup a scan. A good one's first bytes cannot be chosen without breaking the scheme; a bucket
    // still never grows past a few entries.
    if (!ok) return false;
    const entry: CacheEntry = { domain: s.domain, signer: s.signer, view: s.view, sequence: s.sequence, blockHash: s.blockHash, signature: sig, ok };
    if (bucket !== undefined && this.cached > 0) {
      if (bucket.length >= MAX_BUCKET) return ok;
      bucket.push(entry);
    } else this.seen.set(key, [entry]);
    this.cached++;
    return ok;
  }
}

/** The cache key of a signature: its first six bytes (at least six long). */
function cacheKey(sig: Uint8Array): number {
  return sig[0]! * 2 ** 40 + sig[1]! * 2 ** 32 + (((sig[2]! << 24) | (sig[3]! << 16) | (sig[4]! << 8) | sig[5]!) >>> 0);
}

/** Most statements kept under one six-byte key. */
const MAX_BUCKET = 4;

// Bound once: a global lookup per call is slow inside vm sandboxes (jest).
const Bytes = Uint8Array;

interface CacheEntry {
  readonly domain: DomainTag;
  readonly signer: number;
  readonly view: number;
  readonly sequence: number;
  readonly blockHash: Uint8Array;
  readonly signature: Uint8Array;
  readonly ok: boolean;
}

import { toHex } from '@bftx/crypto';
import { ConsensusError } from './errors';

// Bound once: a global lookup per call is slow inside vm sandboxes (jest).
const isSafeInteger = Number.isSafeInteger;

/**
 * The validators of a cluster, by index 0..n-1. f is the number of Byzantine
 * validators tolerated: floor((n-1)/3) unless given; configurations with
 * n < 3f+1 are refused. A quorum is ceil(2n/3) distinct validators (2f+1 when n = 3f+1):
 * any two quorums share at least f+1 validators, so at least one honest one.
 */
export class ValidatorSet {
  readonly n: number;
  readonly f: number;
  readonly quorum: number;
  /** f+1: any set this large holds at least one honest validator. */
  readonly oneHonest: number;
  private readonly byKey = new Map<string, number>();

  constructor(
    readonly publicKeys: readonly Uint8Array[],
    options: { f?: number } = {},
  ) {
    const n = publicKeys.length;
    if (n < 1) throw new ConsensusError('INVALID_VALIDATOR_SET', 'a validator set needs at least one validator');
    const f = options.f ?? Math.floor((n - 1) / 3);
    if (!Number.isSafeInteger(f) || f < 0) throw new ConsensusError('INVALID_VALIDATOR_SET', `f must be a non-negative integer, got ${f}`);
    if (n < 3 * f + 1) throw new ConsensusError('INVALID_VALIDATOR_SET', `n = ${n} validators cannot tolerate f = ${f} Byzantine ones: BFT needs n >= 3f + 1 = ${3 * f + 1}`);
    publicKeys.forEach((k, i) => {
      if (!(k instanceof Uint8Array) || k.length !== 32) throw new ConsensusError('INVALID_VALIDATOR_SET', `validator ${i}: public key must be 32 bytes`);
      const id = toHex(k);
      if (this.byKey.has(id)) throw new ConsensusError('INVALID_VALIDATOR_SET', `validator ${i} has the same key as validator ${this.byKey.get(id)}`);
      this.byKey.set(id, i);
    });
    this.n = n;
    this.f = f;
    this.quorum = Math.ceil((2 * n) / 3);
    this.oneHonest = f + 1;
  }

  /**
   * The one place thresholds come from: how many distinct validators a certificate or tally of
   * `kind` needs. 'quorum': ceil(2n/3), so any two quorums share at least f+1 validators (checked
   * for every n from 1 to 64 in the tests); 'one-honest': f+1. A protocol never computes one itself.
   */
  threshold(kind: 'quorum' | 'one-honest'): number {
    return kind === 'quorum' ? this.quorum : this.oneHonest;
  }

  /** The public key of validator `index`; throws UNKNOWN_VALIDATOR outside 0..n-1. */
  key(index: number): Uint8Array {
    const k = isSafeInteger(index) ? this.publicKeys[index] : undefined;
    if (k === undefined) throw new ConsensusError('UNKNOWN_VALIDATOR', `no validator ${index} (n = ${this.n})`);
    return k;
  }

  has(index: number): boolean {
    return isSafeInteger(index) && index >= 0 && index < this.n;
  }

  indexOf(publicKey: Uint8Array): number | undefined {
    return this.byKey.get(toHex(publicKey));
  }
}

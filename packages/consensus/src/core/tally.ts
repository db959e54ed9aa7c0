import { bytesEqual } from '@bftx/crypto';
import type { SignedStatement, StatementVerifier } from '../statement';

/** Which threshold a tally or certificate needs: the only two there are (see `ValidatorSet.threshold`). */
export type ThresholdKind = 'quorum' | 'one-honest';

/** What adding a statement to a tally did. */
export type TallyResult =
  /** Counted; the threshold is not reached yet (or was reached before). */
  | 'counted'
  /** Counted, and this statement made the count reach the threshold. */
  | 'reached'
  /** This signer was counted for this key already. */
  | 'duplicate'
  /** The signature does not verify, or the signer is not a validator. */
  | 'bad-signature';

/**
 * Statements per key (a block in a view, a digest at a sequence number...), one per distinct
 * verified signer, and whether a threshold from the validator set is reached. The one vote
 * counter every protocol uses: no protocol counts signers or sizes a threshold itself.
 */
export class VoteTally<K = string> {
  private readonly byKey = new Map<K, Map<number, SignedStatement>>();
  readonly threshold: number;

  constructor(
    private readonly verifier: StatementVerifier,
    kind: ThresholdKind = 'quorum',
  ) {
    this.threshold = verifier.validators.threshold(kind);
  }

  /** Verifies `s` (cached) and counts it under `key` once per signer. */
  add(key: K, s: SignedStatement): TallyResult {
    if (this.has(key, s.signer)) return 'duplicate';
    if (!this.verifier.verify(s)) return 'bad-signature';
    return this.addOwn(key, s);
  }

  /** Counts a statement already verified (this replica's own). */
  addOwn(key: K, s: SignedStatement): TallyResult {
    let signers = this.byKey.get(key);
    if (signers?.has(s.signer)) return 'duplicate';
    if (signers === undefined) this.byKey.set(key, (signers = new Map()));
    signers.set(s.signer, s);
    return signers.size === this.threshold ? 'reached' : 'counted';
  }

  count(key: K): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  reached(key: K): boolean {
    return this.count(key) >= this.threshold;
  }

  has(key: K, signer: number): boolean {
    return this.byKey.get(key)?.has(signer) ?? false;
  }

  /** The statements counted under `key`, in the order they came. */
  statements(key: K): SignedStatement[] {
    const signers = this.byKey.get(key);
    return signers === undefined ? [] : [...signers.values()];
  }

  keys(): IterableIterator<K> {
    return this.byKey.keys();
  }

  delete(key: K): void {
    this.byKey.delete(key);
  }

  /** Forgets every key `drop` says (bounded memory: a window moved on). */
  prune(drop: (key: K) => boolean): void {
    for (const key of this.byKey.keys()) if (drop(key)) this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }

  /** Statements held, all keys together (for footprints). */
  get size(): number {
    let n = 0;
    for (const m of this.byKey.values()) n += m.size;
    return n;
  }
}

/** What the statements of a certificate must all say (the block too, when given). */
export interface ExpectedStatement {
  readonly domain: string;
  readonly view: number;
  readonly sequence: number;
  readonly blockHash?: Uint8Array;
}

/**
 * The statements among `statements` that match `expected` (domain, view, sequence, and block when
 * given), one per distinct signer whose signature verifies, stopping once the threshold is met.
 */
export function distinctVerified(
  statements: readonly SignedStatement[],
  expected: ExpectedStatement,
  verifier: StatementVerifier,
  kind: ThresholdKind = 'quorum',
): SignedStatement[] {
  const threshold = verifier.validators.threshold(kind);
  const valid: SignedStatement[] = [];
  const seen = new Set<number>();
  for (const s of statements) {
    if (valid.length >= threshold) break;
    if (s.domain !== expected.domain || s.view !== expected.view || s.sequence !== expected.sequence || seen.has(s.signer)) continue;
    if (expected.blockHash !== undefined && !bytesEqual(s.blockHash, expected.blockHash)) continue;
    seen.add(s.signer);
    if (verifier.verify(s)) valid.push(s);
  }
  return valid;
}

/**
 * `distinctVerified` when it reaches the threshold, else undefined: what a notarization, a
 * certificate given as a list of statements, or a proof in a fetch answer is checked with.
 */
export function collectQuorum(
  statements: readonly SignedStatement[],
  expected: ExpectedStatement,
  verifier: StatementVerifier,
  kind: ThresholdKind = 'quorum',
): SignedStatement[] | undefined {
  const valid = distinctVerified(statements, expected, verifier, kind);
  return valid.length >= verifier.validators.threshold(kind) ? valid : undefined;
}

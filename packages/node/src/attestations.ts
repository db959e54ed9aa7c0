// Execution attestations: after applying finalized block h, each replica signs (h, block hash,
// state root) with its validator key and sends it to its peers; f+1 matching ones prove the state
// root to a client that trusts only the validator keys (@bftx/exchange's verifyAttestations).
//
// The pool keeps, per height, at most one attestation per validator, and checks each one once,
// cheapest check first: it decodes; its signer is a validator; its height is within the window
// (not more than `window` above this replica's applied height, not below its retention); no
// attestation of that signer for that height is held yet; its signature verifies. A refusal is
// typed, counted (bftx_attestations_refused_total{reason}) and changes nothing. Once a quorum
// (2f+1, the most any client threshold asks for) match this replica's statement at a height,
// further matching ones are skipped unverified and not kept (counted as 'surplus'): a third fewer
// signature checks per block at n = 3f+1; one that differs is still checked and kept. One that attests
// another block or state root than this replica reached at that height is kept apart and counted
// (bftx_attestation_conflicts_total): the signer, or this replica, executed differently. One for a
// height this replica has not applied yet is held until it has, then sorted the same way.
//
// Memory is bounded: the last `retain` heights (and the `window` above) are held; older ones are
// read back from the store on request.
import { bytesEqual, DecodeError, decode, toHex } from '@bftx/crypto';
import type { ValidatorSet } from '@bftx/consensus';
import { AttestationCodec, verifyAttestations, type Attestation, type AttestedStatement } from '@bftx/exchange';
import type { SignatureScheme } from '@bftx/crypto';
import type { ReplicaMetrics } from './metrics';

/** Why an attestation was refused. */
export type AttestationRefusal =
  /** Its bytes do not decode as an attestation. */
  | 'malformed'
  /** Its signer is not an index of the validator set. */
  | 'non_validator'
  /** Its height is more than the window above this replica's applied height. */
  | 'too_far_ahead'
  /** Its height is below what this replica retains. */
  | 'too_old'
  /** This replica already holds an attestation of that signer for that height. */
  | 'duplicate'
  /** Its signature does not verify under the signer's key. */
  | 'bad_signature'
  /** A quorum of attestations matching this replica's statement is held already: not checked, not kept. */
  | 'surplus';

export const ATTESTATION_REFUSALS: readonly AttestationRefusal[] = ['malformed', 'non_validator', 'too_far_ahead', 'too_old', 'duplicate', 'bad_signature', 'surplus'];

/** What became of a received attestation. */
export type AttestationVerdict = { readonly ok: true; readonly conflict: boolean; readonly held: boolean } | { readonly ok: false; readonly reason: AttestationRefusal };

export interface AttestationPoolOptions {
  readonly validators: ValidatorSet;
  readonly scheme: SignatureScheme;
  readonly metrics: ReplicaMetrics;
  /** Most heights above the applied height an attestation may be for (default 256). */
  readonly window?: number;
  /** Heights held in memory, the applied one included (default 1024). */
  readonly retain?: number;
  /** Newly accepted attestations, to be stored (conflicting ones flagged). */
  readonly persist: (records: ReadonlyArray<{ readonly attestation: Attestation; readonly conflict: boolean }>) => void;
  readonly log?: () => ((event: string, fields: Record<string, unknown>) => void) | undefined;
}

interface HeightEntry {
  /** What this replica reached at this height, once applied. */
  own: AttestedStatement | undefined;
  /** Attestations of this replica's statement, by signer. */
  readonly matching: Map<number, Attestation>;
  /** Attestations of another block or root, by signer. */
  readonly conflicts: Map<number, Attestation>;
  /** Received before this replica applied the height, by signer. */
  readonly held: Map<number, Attestation>;
}

type Waiter = { readonly count: number; readonly resolve: () => void };

function sameStatement(a: AttestedStatement, b: AttestedStatement): boolean {
  return a.height === b.height && bytesEqual(a.blockHash, b.blockHash) && bytesEqual(a.stateRoot, b.stateRoot);
}

export class AttestationPool {
  private readonly heights = new Map<number, HeightEntry>();
  private readonly waiters = new Map<number, Waiter[]>();
  private readonly listeners: Array<(a: Attestation) => void> = [];
  private applied = 0;
  readonly window: number;
  readonly retain: number;

  constructor(private readonly o: AttestationPoolOptions) {
    this.window = o.window ?? 256;
    this.retain = o.retain ?? 1024;
  }

  /** The highest height whose own statement is known. */
  get height(): number {
    return this.applied;
  }

  /** The lowest height held in memory. */
  get lowest(): number {
    return Math.max(1, this.applied - this.retain + 1);
  }

  /** Calls `listener` with each attestation of this replica's statements accepted from now on (its own included). */
  onMatching(listener: (a: Attestation) => void): void {
    this.listeners.push(listener);
  }

  private entry(height: number): HeightEntry {
    let e = this.heights.get(height);
    if (e === undefined) {
      e = { own: undefined, matching: new Map(), conflicts: new Map(), held: new Map() };
      this.heights.set(height, e);
    }
    return e;
  }

  /**
   * This replica applied `statement.height` and reached `statement`: attestations held for it are
   * sorted, heights now below the retention dropped from memory.
   */
  reached(statement: AttestedStatement): void {
    const e = this.entry(statement.height);
    e.own = statement;
    this.applied = Math.max(this.applied, statement.height);
    const sorted: Array<{ attestation: Attestation; conflict: boolean }> = [];
    for (const a of e.held.values()) sorted.push({ attestation: a, conflict: this.sort(e, a) });
    e.held.clear();
    // Held ones were stored as they came (not yet sorted): stored again with their verdict.
    if (sorted.length > 0) this.o.persist(sorted);
    this.prune();
  }

  /** Puts a verified attestation where it belongs; true iff it conflicts with this replica's own statement. */
  private sort(e: HeightEntry, a: Attestation): boolean {
    if (sameStatement(a, e.own!)) {
      e.matching.set(a.signer, a);
      for (const l of this.listeners) l(a);
      this.wake(a.height, e.matching.size);
      return false;
    }
    e.conflicts.set(a.signer, a);
    this.o.metrics.attestationConflicts.inc({ signer: String(a.signer) });
    this.o.log?.()?.('attestation-conflict', { height: a.height, signer: a.signer, theirs: toHex(a.stateRoot), ours: toHex(e.own!.stateRoot), theirBlock: toHex(a.blockHash), ourBlock: toHex(e.own!.blockHash) });
    return true;
  }

  private prune(): void {
    const lowest = this.lowest;
    for (const h of this.heights.keys()) if (h < lowest) this.heights.delete(h);
    for (const [h, ws] of this.waiters) {
      if (h >= lowest) continue;
      for (const w of ws) w.resolve();
      this.waiters.delete(h);
    }
  }

  /** This replica's own attestation (signed, to be sent): stored like a received one. */
  own(a: Attestation): void {
    const e = this.entry(a.height);
    if (e.matching.has(a.signer)) return;
    this.o.metrics.attestationsSigned.inc();
    e.matching.set(a.signer, a);
    for (const l of this.listeners) l(a);
    this.wake(a.height, e.matching.size);
    this.o.persist([{ attestation: a, conflict: false }]);
  }

  /** Checks an attestation's bytes from a peer (see the file's head); accepted ones are stored. */
  receive(bytes: Uint8Array): AttestationVerdict {
    let a: Attestation;
    try {
      a = decode(AttestationCodec, bytes);
    } catch (e) {
      if (e instanceof DecodeError) return this.refuse('malformed');
      throw e;
    }
    return this.accept(a);
  }

  /** Checks a decoded attestation (see the file's head); accepted ones are stored. */
  accept(a: Attestation): AttestationVerdict {
    if (!this.o.validators.has(a.signer)) return this.refuse('non_validator');
    if (a.height > this.applied + this.window) return this.refuse('too_far_ahead');
    if (a.height < this.lowest || a.height < 1) return this.refuse('too_old');
    const e = this.heights.get(a.height);
    if (e !== undefined && (e.matching.has(a.signer) || e.conflicts.has(a.signer) || e.held.has(a.signer))) return this.refuse('duplicate');
    if (e?.own !== undefined && e.matching.size >= this.o.validators.quorum && sameStatement(a, e.own)) return this.refuse('surplus');
    // Over its own statement: only the signature is checked here; the statement is compared with ours below.
    if (!verifyAttestations(this.o.validators, this.o.scheme, a, [a], 1).ok) return this.refuse('bad_signature');
    this.o.metrics.attestationsReceived.inc();
    const entry = e ?? this.entry(a.height);
    if (entry.own === undefined) {
      entry.held.set(a.signer, a);
      this.o.persist([{ attestation: a, conflict: false }]);
      return { ok: true, conflict: false, held: true };
    }
    const conflict = this.sort(entry, a);
    this.o.persist([{ attestation: a, conflict }]);
    return { ok: true, conflict, held: false };
  }

  private refuse(reason: AttestationRefusal): AttestationVerdict {
    this.o.metrics.attestationsRefused.inc({ reason });
    return { ok: false, reason };
  }

  /** Restores stored attestations (a restart): no checks or counts beyond sorting (they were checked when they came). */
  restore(records: readonly Attestation[]): void {
    for (const a of records) {
      if (a.height < this.lowest || a.height > this.applied + this.window) continue;
      const e = this.entry(a.height);
      if (e.matching.has(a.signer) || e.conflicts.has(a.signer) || e.held.has(a.signer)) continue;
      if (e.own === undefined) e.held.set(a.signer, a);
      else if (sameStatement(a, e.own)) e.matching.set(a.signer, a);
      else e.conflicts.set(a.signer, a);
    }
  }

  /** Whether this height is held in memory (else: ask the store). */
  holds(height: number): boolean {
    return height >= this.lowest && height <= this.applied;
  }

  /** Attestations of this replica's statement at `height` (held in memory), by signer. */
  matching(height: number): Attestation[] {
    return [...(this.heights.get(height)?.matching.values() ?? [])].sort((x, y) => x.signer - y.signer);
  }

  /** How many attestations match this replica's statement at `height` (held in memory). */
  count(height: number): number {
    return this.heights.get(height)?.matching.size ?? 0;
  }

  /** The lowest height from `from` to `to` (within those held) with fewer than `count` matching attestations. */
  firstShort(from: number, to: number, count: number): number | undefined {
    for (let h = Math.max(from, this.lowest); h <= Math.min(to, this.applied); h++) if (this.count(h) < count) return h;
    return undefined;
  }

  /** Whether an attestation of `signer` at `height` is held (matching or conflicting). */
  has(height: number, signer: number): boolean {
    const e = this.heights.get(height);
    return e !== undefined && (e.matching.has(signer) || e.conflicts.has(signer) || e.held.has(signer));
  }

  /** Attestations of another statement at `height`, by signer. */
  conflicts(height: number): Attestation[] {
    return [...(this.heights.get(height)?.conflicts.values() ?? [])].sort((x, y) => x.signer - y.signer);
  }

  /** This replica's own statement at `height`, if held. */
  statement(height: number): AttestedStatement | undefined {
    return this.heights.get(height)?.own;
  }

  /** Resolves once `count` attestations match this replica's statement at `height`, or after `ms`. */
  async wait(height: number, count: number, ms: number): Promise<void> {
    if ((this.heights.get(height)?.matching.size ?? 0) >= count || height < this.lowest) return;
    await new Promise<void>((resolve) => {
      const list = this.waiters.get(height) ?? [];
      const waiter: Waiter = { count, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        const left = (this.waiters.get(height) ?? []).filter((w) => w !== waiter);
        if (left.length === 0) this.waiters.delete(height);
        else this.waiters.set(height, left);
        resolve();
      }, ms);
      list.push(waiter);
      this.waiters.set(height, list);
    });
  }

  private wake(height: number, size: number): void {
    const list = this.waiters.get(height);
    if (list === undefined) return;
    const left = list.filter((w) => {
      if (size < w.count) return true;
      w.resolve();
      return false;
    });
    if (left.length === 0) this.waiters.delete(height);
    else this.waiters.set(height, left);
  }

  /** Releases every waiter (the replica stops). */
  close(): void {
    for (const ws of this.waiters.values()) for (const w of ws) w.resolve();
    this.waiters.clear();
  }
}

// The fair-ordering rule, pure: from n-f signed receive logs, which transactions a block must
// carry and in what order. After Pompē (Zhang et al., OSDI 2020, §4: a transaction's ordering
// timestamp is the median of 2f+1 replicas' receipt timestamps, so f liars can move it only within
// the honest replicas' range) and the inclusion rule of Multiplicity-style proposals (what f+1
// replicas saw cannot be left out: at least one of them is honest).
import { bytesEqual, merkleRoot } from '@bftx/crypto';
import { blockHash, type BlockHeader } from '../block';
import type { SignedStatement, StatementVerifier } from '../statement';
import type { ValidatorSet } from '../validators';
import { checkReceiveLog, decodeLogElement, digestKey, isLogElement, txDigest, type SignedReceiveLog } from './receive-log';

/** A transaction the logs oblige a block to carry: its digest (hex) and its ordering time. */
export interface Obliged {
  readonly key: string;
  readonly time: number;
}

/**
 * The fair order: every digest present in at least f+1 of `logs` and not `excluded` (final, or
 * already on the chain the block extends), ordered by its ordering time, then by digest. The
 * ordering time is the (f+1)-th earliest receipt time among the logs (a log without the digest
 * counts as "not received"): with n = 3f+1 and 2f+1 logs that is the median of Pompē, and in
 * general f lying logs can neither pull it below the earliest honest receipt nor push it past
 * the (f+1)-th honest one.
 */
export function fairOrder(logs: readonly SignedReceiveLog[], f: number, excluded: (key: string) => boolean): Obliged[] {
  const times = new Map<string, number[]>();
  for (const log of logs) {
    const keys = entryKeys(log);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const time = log.entries[i]!.time;
      const t = times.get(key);
      if (t === undefined) times.set(key, [time]);
      else t.push(time);
    }
  }
  const out: Obliged[] = [];
  for (const [key, t] of times) {
    if (t.length < f + 1 || excluded(key)) continue;
    t.sort((a, b) => a - b);
    out.push({ key, time: t[f]! });
  }
  return out.sort((a, b) => a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const keyCache = new WeakMap<SignedReceiveLog, string[]>();

/** The hex digests of a log's entries, worked out once per log object (a log is judged by several rules, and kept). */
export function entryKeys(log: SignedReceiveLog): string[] {
  let keys = keyCache.get(log);
  if (keys === undefined) {
    keys = log.entries.map((e) => digestKey(e.digest));
    keyCache.set(log, keys);
  }
  return keys;
}

/** A payload split into its receive logs (leading elements) and its transactions. */
export interface SplitPayload {
  readonly logs: SignedReceiveLog[];
  readonly txs: readonly Uint8Array[];
}

/** Splits a payload; a string says why it is malformed (an undecodable log, a log among the transactions). */
export function splitPayload(payload: readonly Uint8Array[]): SplitPayload | string {
  const logs: SignedReceiveLog[] = [];
  let i = 0;
  for (; i < payload.length; i++) {
    const log = decodeLogElement(payload[i]!);
    if (log === undefined) break;
    logs.push(log);
  }
  const txs = payload.slice(i);
  for (let j = 0; j < txs.length; j++) if (isLogElement(txs[j]!)) return `payload element ${i + j} is a receive log after the transactions`;
  return { logs, txs };
}

/** Why a payload's logs cannot back a proposal (too few, repeated signers, bad signatures), or undefined. */
export function checkProof(logs: readonly SignedReceiveLog[], validators: ValidatorSet, scheme: StatementVerifier['scheme']): string | undefined {
  const need = validators.n - validators.f;
  if (logs.length < need) return `${logs.length} receive logs, a proposal needs ${need} (n - f)`;
  const signers = new Set<number>();
  for (const log of logs) {
    if (signers.has(log.signer)) return `two receive logs of validator ${log.signer}`;
    signers.add(log.signer);
    const bad = checkReceiveLog(log, validators, scheme);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

/**
 * What the transactions of a proposal do that the logs forbid, whatever the chain: a transaction
 * fewer than f+1 logs name (inserted), one twice, or two in the other order than their ordering
 * times (reordered). These a third party can check from the block alone, so they convict the
 * proposer. (Leaving out an obliged transaction is refused by voters, who know the chain, but it
 * is not proof: the transaction may have been final already.)
 */
export function provableDeviation(logs: readonly SignedReceiveLog[], txs: readonly Uint8Array[], f: number): string | undefined {
  const order = fairOrder(logs, f, () => false);
  const rank = new Map<string, number>();
  order.forEach((o, i) => rank.set(o.key, i));
  let last = -1;
  const seen = new Set<string>();
  for (let i = 0; i < txs.length; i++) {
    const key = digestKey(txDigest(txs[i]!));
    if (seen.has(key)) return `transaction ${i} appears twice`;
    seen.add(key);
    const r = rank.get(key);
    if (r === undefined) return `transaction ${i} is named by fewer than f+1 = ${f + 1} receive logs (inserted by the proposer)`;
    if (r < last) return `transaction ${i} comes after one with a later ordering time (reordered by the proposer)`;
    last = r;
  }
  return undefined;
}

/** Proof that `offender` proposed a block whose transactions contradict the receive logs it carries. */
export interface UnfairProposalEvidence {
  readonly kind: 'unfair-proposal';
  readonly offender: number;
  /** The offender's signed statement backing the block (its proposal, pre-prepare or vote). */
  readonly statement: SignedStatement;
  readonly header: BlockHeader;
  readonly payload: readonly Uint8Array[];
}

/** True iff the evidence shows its offender signed a block whose transactions its receive logs do not back: too few valid logs, or an insertion, repetition or reordering. */
export function verifyUnfairProposal(e: UnfairProposalEvidence, verifier: StatementVerifier): boolean {
  const s = e.statement;
  if (e.kind !== 'unfair-proposal' || s.signer !== e.offender || e.header.proposer !== e.offender) return false;
  if (!bytesEqual(s.blockHash, blockHash(e.header)) || !bytesEqual(merkleRoot(e.payload), e.header.payloadRoot)) return false;
  if (!verifier.verify(s)) return false;
  const split = splitPayload(e.payload);
  if (typeof split === 'string') return false;
  // Transactions without n-f valid logs behind them: proposed on the proposer's word alone.
  if (checkProof(split.logs, verifier.validators, verifier.scheme) !== undefined) return split.txs.length > 0;
  return provableDeviation(split.logs, split.txs, verifier.validators.f) !== undefined;
}

// PBFT's rules as data: each decision of the protocol is one small pure function over the state it
// names (no `this`, no outputs), citing Castro and Liskov, "Practical Byzantine Fault Tolerance"
// (OSDI 1999), and where it departs from that paper, "Practical Byzantine Fault Tolerance and
// Proactive Recovery" (TOCS 2002). The replica (pbft.ts) wires them to messages and calls only these
// where it decides; `pbft({ rules: { ... } })` replaces any of them (the mutation tests plant bugs so).
// Thresholds come in as arguments, taken from the ValidatorSet through the tallies: no rule sizes one.
import { makeBlock, type Block, type RejectionCode } from '@bftx/consensus';
import type { PreparedCertificate, ViewChange } from './messages';

/** A rule's verdict on an input: taken, or refused with the code the replica reports. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly code: RejectionCode };

// Verdicts are constants: rules run per message and allocate nothing.
const ACCEPT: Verdict = { ok: true };
const REFUSED = { OUT_OF_WINDOW: { ok: false, code: 'OUT_OF_WINDOW' }, STALE: { ok: false, code: 'STALE' }, DUPLICATE: { ok: false, code: 'DUPLICATE' }, EQUIVOCATION: { ok: false, code: 'EQUIVOCATION' } } as const satisfies Record<string, Verdict>;
const refuse = (code: keyof typeof REFUSED): Verdict => REFUSED[code];

/** The sequence numbers a replica takes messages for: above the low watermark h (its stable checkpoint), up to h + L. */
export interface Watermarks {
  /** h: the sequence number of the stable checkpoint. */
  readonly low: number;
  /** L: the window; the high watermark H is low + window. */
  readonly window: number;
}

export interface PrePrepareState extends Watermarks {
  /** The replica's view, and whether it is still changing to it (no NEW-VIEW yet). */
  readonly view: number;
  readonly inViewChange: boolean;
  /** The pre-prepare's view and sequence number. */
  readonly prePrepareView: number;
  readonly sequence: number;
  /** Whether the pre-prepare is for the batch already accepted at (view, sequence), if one is. */
  readonly accepted: 'none' | 'same' | 'other';
}

export interface PreparedState {
  /** A pre-prepare is accepted for (view, sequence). */
  readonly prePrepared: boolean;
  /** Matching prepares of distinct replicas other than the primary (counted by the tally). */
  readonly prepares: number;
  /** The tally's quorum (ValidatorSet.threshold('quorum')), and n (what a mutant sizes with instead). */
  readonly quorum: number;
  readonly n: number;
}

export interface CommittedState {
  readonly prepared: boolean;
  /** Matching commits of distinct replicas, this one's included. */
  readonly commits: number;
  readonly quorum: number;
  readonly n: number;
}

export interface ReproposalState {
  readonly newView: number;
  /** The primary of the new view (the proposer of its null batches). */
  readonly primary: number;
  /** A quorum of valid view changes for the new view. */
  readonly viewChanges: readonly ViewChange[];
}

/** The rules a PBFT replica decides by; `defaultRules` are the paper's. */
export interface PbftRules {
  /** Whether a sequence number lies within the watermarks (h < n <= H). */
  inWindow(sequence: number, w: Watermarks): boolean;
  /** Whether a backup accepts a (validly signed) pre-prepare. */
  acceptPrePrepare(s: PrePrepareState): Verdict;
  /** Whether a batch is prepared at (view, sequence). */
  prepared(s: PreparedState): boolean;
  /** Whether a prepared batch is committed-local. */
  committedLocal(s: CommittedState): boolean;
  /** The sequence number executed next. */
  nextToExecute(lastExecuted: number): number;
  /** Whether executing `sequence` makes the replica sign a checkpoint. */
  checkpointDue(sequence: number, interval: number, low: number): boolean;
  /** Whether matching checkpoints of `signers` distinct replicas make a stable checkpoint. */
  stable(signers: number, quorum: number): boolean;
  /** Whether the view-change timer of the new view runs, with view changes of `viewChanges` distinct replicas for it or a later view in (own included). */
  viewChangeTimerRuns(viewChanges: number, quorum: number): boolean;
  /** Whether `viewChanges` view changes of distinct replicas for a view let its primary send (and backups accept) NEW-VIEW. */
  newViewReady(viewChanges: number, quorum: number): boolean;
  /** The view a replica joins, given the highest view each other replica showed in a signed message (`view` itself: none). */
  joinView(view: number, others: readonly number[], oneHonest: number): number;
  /** Of the prepared certificates reported for one sequence number, the one a new view re-proposes (undefined: a null batch). */
  chooseReproposal(certs: readonly PreparedCertificate[]): PreparedCertificate | undefined;
  /** The batches a NEW-VIEW must carry (the paper's O): every replica computes the same list. */
  reproposals(s: ReproposalState, choose: (certs: readonly PreparedCertificate[]) => PreparedCertificate | undefined): Block[];
}

const ZERO_HASH = new Uint8Array(32);
/** h < n <= H: the default `inWindow`, and the window `acceptPrePrepare` checks (override both to move the watermarks). */
const within = (sequence: number, w: Watermarks): boolean => sequence > w.low && sequence <= w.low + w.window;

/** The batch a new primary proposes where no batch was prepared: empty, and the same at every replica. */
export function nullBatch(view: number, sequence: number, primary: number): Block {
  return makeBlock({ parent: ZERO_HASH, height: sequence, view, proposer: primary, payload: [] });
}

export const defaultRules: PbftRules = {
  // OSDI 1999, 4.2 and 4.3: messages are taken only for h < n <= H (H = h + L), so a faulty primary cannot exhaust the sequence space.
  inWindow: within,

  // OSDI 1999, 4.2: a backup accepts a pre-prepare if it is in view v (entered), n is between h and H, and it accepted no other for (v, n).
  acceptPrePrepare(s) {
    if (s.prePrepareView > s.view) return refuse('OUT_OF_WINDOW');
    // Not entered yet (no NEW-VIEW): the new view's pre-prepares come again inside its NEW-VIEW.
    if (s.prePrepareView < s.view || s.inViewChange) return refuse('STALE');
    if (!within(s.sequence, s)) return refuse('OUT_OF_WINDOW');
    if (s.accepted === 'same') return refuse('DUPLICATE');
    if (s.accepted === 'other') return refuse('EQUIVOCATION');
    return ACCEPT;
  },

  // OSDI 1999, 4.2: prepared = the pre-prepare plus 2f matching prepares of others; the pre-prepare is the primary's prepare, so a quorum backs it for every n.
  prepared: (s) => s.prePrepared && s.prepares + 1 >= s.quorum,

  // OSDI 1999, 4.2: committed-local(m, v, n, i) is prepared plus 2f+1 (a quorum of) matching commits, possibly its own.
  committedLocal: (s) => s.prepared && s.commits >= s.quorum,

  // OSDI 1999, 4.2: a replica executes the request of n once committed-local and all requests with lower sequence numbers are executed.
  nextToExecute: (lastExecuted) => lastExecuted + 1,

  // OSDI 1999, 4.3: a checkpoint is taken when a request whose sequence number is divisible by the interval K is executed.
  checkpointDue: (sequence, interval, low) => sequence % interval === 0 && sequence > low,

  // OSDI 1999, 4.3: a checkpoint with a proof (2f+1, a quorum of matching checkpoint messages) is stable; h moves to it.
  stable: (signers, quorum) => signers >= quorum,

  // TOCS 2002, 2.3.5 (OSDI 1999, 4.5.2): the timer for v+1 starts only once 2f+1 (a quorum of) view changes for v+1 are in
  // (here: for v+1 or later, so that a quorum split between two target views still times out and moves up).
  viewChangeTimerRuns: (viewChanges, quorum) => viewChanges >= quorum,

  // OSDI 1999, 4.4: the primary of v+1 sends NEW-VIEW once it holds 2f (here: a quorum, its own included) valid view changes for v+1.
  newViewReady: (viewChanges, quorum) => viewChanges >= quorum,

  // TOCS 2002, 2.3.5: f+1 (one-honest) others seen in higher views make a replica join (here the highest view f+1 of them reached).
  joinView(view, others, oneHonest) {
    const sorted = [...others].sort((a, b) => b - a);
    return Math.max(view, sorted[oneHonest - 1] ?? 0);
  },

  // OSDI 1999, 4.4: for each n the new primary re-proposes the request of the prepared certificate with the highest view.
  chooseReproposal(certs) {
    let best: PreparedCertificate | undefined;
    for (const c of certs) if (best === undefined || c.prePrepare.view > best.prePrepare.view) best = c;
    return best;
  },

  // OSDI 1999, 4.4: O holds, for every n from min-s (latest stable checkpoint in V) to max-s (highest prepared), the chosen batch or a null one.
  reproposals(s, choose) {
    const minS = Math.max(...s.viewChanges.map((v) => v.stable.sequence));
    const bySequence = new Map<number, PreparedCertificate[]>();
    for (const v of s.viewChanges) {
      for (const c of v.prepared) {
        const sequence = c.prePrepare.batch.height;
        if (sequence > minS) bySequence.set(sequence, [...(bySequence.get(sequence) ?? []), c]);
      }
    }
    const maxS = Math.max(minS, ...bySequence.keys());
    const out: Block[] = [];
    for (let sequence = minS + 1; sequence <= maxS; sequence++) out.push(choose(bySequence.get(sequence) ?? [])?.prePrepare.batch ?? nullBatch(s.newView, sequence, s.primary));
    return out;
  },
};

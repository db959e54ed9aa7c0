/**
 * Why a protocol refused an input. Every refusal has one of these codes, is returned as a `reject`
 * output, and is counted by the runtime (the simulator's summary, the replica's
 * `bftx_protocol_rejected_total{code}`): bad input changes nothing, but it never goes unseen.
 */
export type RejectionCode =
  /** Too far from the current view (or sequence window) to be kept: the bounded-state rule. */
  | 'OUT_OF_WINDOW'
  /** For a view, sequence number or height already decided or below the finalized tip: of no use. */
  | 'STALE'
  /** A signature that does not verify, or a signer that is not a validator. */
  | 'BAD_SIGNATURE'
  /** A proposal (or new view) signed by someone who does not lead that view. */
  | 'NOT_FROM_LEADER'
  /** Already seen (an echo, a re-sent message): nothing new in it. */
  | 'DUPLICATE'
  /** A second conflicting statement of one signer beyond what evidence needs. */
  | 'EQUIVOCATION'
  /** A certificate (QC, TC, notarization, view-change or checkpoint proof) that does not prove what it claims. */
  | 'BAD_CERTIFICATE'
  /** A proposal that breaks the protocol's rules: wrong height or parent, not extending what it must, not justified. */
  | 'INVALID_PROPOSAL'
  /** A payload the cluster's payload policy refuses (or one whose transactions do not match the header's root). */
  | 'INVALID_PAYLOAD'
  /** An answer to a fetch nobody asked for, or one that does not prove what was asked. */
  | 'UNASKED'
  | 'UNPROVEN'
  /** A peer asking more often than the protocol answers. */
  | 'RATE_LIMITED'
  /** Fields that are well encoded but make no sense (a vote in the wrong domain, a sequence outside a view...). */
  | 'MALFORMED';

/** One refusal: its code, who sent the input (absent for local inputs), and a short detail for logs. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly from?: number | undefined;
  /** The kind of message refused ("vote", "proposal", ...), for metrics and logs. */
  readonly kind?: string | undefined;
}

/** Every code, for metrics that list them and tests that check each is reachable. */
export const REJECTION_CODES: readonly RejectionCode[] = [
  'OUT_OF_WINDOW',
  'STALE',
  'BAD_SIGNATURE',
  'NOT_FROM_LEADER',
  'DUPLICATE',
  'EQUIVOCATION',
  'BAD_CERTIFICATE',
  'INVALID_PROPOSAL',
  'INVALID_PAYLOAD',
  'UNASKED',
  'UNPROVEN',
  'RATE_LIMITED',
  'MALFORMED',
];

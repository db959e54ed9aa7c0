import type { SignatureScheme, Signer } from '@bftx/crypto';
import type { Block } from './block';
import type { CommitCheck } from './finality-proof';
import type { PayloadPolicy } from './core/payload';
import type { Evidence } from './evidence';
import type { RejectionCode } from './rejection';
import type { SignedStatement, StatementVerifier } from './statement';
import type { ValidatorSet } from './validators';

/** Names a timer of one replica; setting it again replaces it. */
export type TimerId = string;

/** What the runtime feeds a protocol. `now` is the runtime's clock in integer milliseconds. */
export type ProtocolInput<M> =
  | { readonly type: 'start'; readonly now: number }
  | { readonly type: 'message'; readonly from: number; readonly message: M; readonly now: number }
  | { readonly type: 'timer'; readonly timer: TimerId; readonly now: number }
  | { readonly type: 'transactions'; readonly txs: readonly Uint8Array[]; readonly now: number };

/**
 * What a protocol asks the runtime to do, in order. A `persist` must be durable
 * before any output after it is carried out (a vote is never sent before the
 * state that forbids a second one is on disk).
 */
export type ProtocolOutput<M> =
  | { readonly type: 'send'; readonly to: number; readonly message: M }
  | { readonly type: 'broadcast'; readonly message: M }
  | { readonly type: 'set-timer'; readonly timer: TimerId; readonly at: number }
  | { readonly type: 'cancel-timer'; readonly timer: TimerId }
  | { readonly type: 'persist'; readonly state: Uint8Array }
  /**
   * Blocks final (consecutive, lowest first), with `certificate`: the protocol's encoded commit
   * certificate that the LAST of them is final (`ProtocolDefinition.verifyCommit` checks it), on
   * every commit where the protocol holds the statements (see each protocol's README for those without).
   */
  | { readonly type: 'commit'; readonly blocks: readonly Block[]; readonly certificate?: Uint8Array }
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  | { readonly type: 'trace'; readonly event: TraceEvent }
  /** An input refused: its code, its sender and message kind where it had them. Counted by the runtime. */
  | { readonly type: 'reject'; readonly code: RejectionCode; readonly from?: number | undefined; readonly kind?: string | undefined };

/**
 * Protocol events worth recording for visualization and debugging, named per concept (the same
 * names in every protocol): a view began, a block was proposed, voted for, certified (a quorum
 * signed it: Streamlet's notarization, HotStuff's QC, PBFT's prepared certificate), finalized.
 */
export type TraceEvent =
  | { readonly kind: 'propose'; readonly view: number; readonly block: string; readonly height: number; readonly parent: string }
  | { readonly kind: 'vote'; readonly view: number; readonly block: string }
  | { readonly kind: 'certify'; readonly view: number; readonly block: string; readonly height: number }
  /** `proposal`: the id the block was proposed under, when the ledger block differs from it (PBFT's batches). */
  | { readonly kind: 'finalize'; readonly block: string; readonly height: number; readonly view: number; readonly proposal?: string }
  | { readonly kind: 'view'; readonly view: number; readonly leader: number };

/** Timing parameters, in milliseconds of the runtime's clock. */
export interface Timing {
  /** The assumed bound on message delay after GST. */
  readonly delta: number;
}

export interface ProtocolConfig {
  /** This replica's validator index. */
  readonly self: number;
  readonly validators: ValidatorSet;
  readonly scheme: SignatureScheme;
  readonly signer: Signer;
  readonly timing: Timing;
  /**
   * The signature checker (with its cache) to use, shared with the runtime: a statement the runtime
   * already checked at the door is not checked again. It must be for these validators and this
   * scheme. Left out, the instance makes its own.
   */
  readonly verifier?: StatementVerifier;
  /**
   * This replica's finalized chain as the runtime holds it (durably, in its store): read it at any
   * step, it only grows, and a restart keeps it. A protocol serves peers' fetches for blocks that
   * are final from here, so a block stays available after every replica has dropped it from
   * memory and restarted; it need not keep final blocks itself. Left out, the protocol serves only
   * what it holds in memory.
   */
  readonly finalized?: FinalizedChain;
  /** Safety state from the last `persist` output, when restarting. */
  readonly safetyState?: Uint8Array;
  /**
   * How a leader builds a block's payload and a voter judges one (see `PayloadPolicy`). The same
   * policy on every replica of a cluster, a new instance each. Left out: first in, first out.
   */
  readonly payload?: PayloadPolicy;
  /** Most transactions per block (default 1000). */
  readonly maxBlockTxs?: number;
  /**
   * Who leads each view: leaderSchedule[v] for the views it covers, the protocol's own rule
   * after. Every replica of a cluster must be given the same schedule; the Twins harness sets one
   * per scenario. Leave it out in production.
   */
  readonly leaderSchedule?: readonly number[];
}

/** Read access to a finalized chain (the runtime's `Ledger` is one): genesis at height 0. */
export interface FinalizedChain {
  /** Height of the last finalized block. */
  readonly height: number;
  /** The finalized block at `height`; undefined above the tip or below what the runtime keeps. */
  at(height: number): Block | undefined;
}

/** A sans-IO consensus protocol instance: a deterministic state machine. */
export interface Protocol<M> {
  readonly self: number;
  step(input: ProtocolInput<M>): ProtocolOutput<M>[];
  /**
   * What the instance holds in memory, for bounded-state checks: `retained` counts messages,
   * statements, certificates and blocks kept (for the current view and those around it, and blocks
   * not yet final: final blocks are the runtime's, see `ProtocolConfig.finalized`), `dropped` the messages refused since creation because they were too far from the
   * current view or sequence number to be kept. Under a flood of validly signed far-future
   * messages `retained` stays below a bound that does not grow with the flood.
   */
  footprint?(): ProtocolFootprint;
}

export interface ProtocolFootprint {
  readonly retained: number;
  readonly dropped: number;
}

/** A protocol as a runtime sees it: how to create instances and put its messages on the wire. */
export interface ProtocolDefinition<M> {
  readonly name: string;
  create(config: ProtocolConfig): Protocol<M>;
  encodeMessage(message: M): Uint8Array;
  /** Throws DecodeError on malformed bytes. */
  decodeMessage(bytes: Uint8Array): M;
  /** A short name for traces: "proposal", "vote", ... */
  messageKind(message: M): string;
  /** The bound (in ms after GST, with honest leaders) within which the protocol promises new finalized blocks. */
  livenessBound(timing: Timing, n: number): number;
  /** Protocol-specific help for Byzantine wrappers (see @bftx/sim adversaries). */
  readonly byzantine?: ByzantineHooks<M>;
  /**
   * Every signed statement a message carries (proposals, votes, timeouts, checkpoints, view
   * changes..., whoever signed them): an honest replica never signs two of these with one
   * (domain, view, sequence) and different block hashes, crash and restart included. For
   * audits: the simulator and the crash test collect every message a replica sent and check
   * exactly that for the statements signed by the sender.
   */
  votes(message: M): readonly SignedStatement[];
  /**
   * The payload of the block a message proposes (undefined for other messages): a runtime may
   * check the client signatures in it ahead, off its event loop (a replica's verify pool), so that
   * executing the block later finds them checked. Optional: without it nothing is checked ahead.
   */
  payloadOf?(message: M): readonly Uint8Array[] | undefined;
  /**
   * Checks a commit certificate (a `commit` output's `certificate`) against the validator set
   * alone: every signature, quorum sizes by `validators.quorum`, and the protocol's finality rule.
   * Pure; never throws (malformed bytes: ok false). Says which block (height and hash) is final.
   */
  verifyCommit?(certificate: Uint8Array, validators: ValidatorSet, scheme: SignatureScheme): CommitCheck;
}

/** What an adversary needs to misbehave in protocol terms, given only its own signer. */
export interface ByzantineHooks<M> {
  /** A message that conflicts with `message` (another block for the same proposal or vote sequence), signed by `signer`; undefined if the message has no conflicting form. */
  conflicting(message: M, signer: Signer, self: number): M | undefined;
  /** True for vote-like messages (what a vote withholder drops). */
  isVote(message: M): boolean;
  /** The same message with its signature replaced by garbage. */
  withBadSignature(message: M): M;
  /** A proposal whose parent is unknown, or undefined if `message` is not a proposal. */
  withForgedParent(message: M, signer: Signer, self: number): M | undefined;
  /** A vote by `self` for the block that `message` proposes, or undefined if it is not a proposal. */
  voteFor(message: M, signer: Signer, self: number): M | undefined;
  /** The validator that signed a message (for an echo, the original author). */
  signerOf(message: M): number;
  /** The block a proposal carries: its hash and height. */
  proposedBlock(message: M): { readonly hash: Uint8Array; readonly height: number } | undefined;
  /** The same proposal rebuilt on another parent (a fork), signed by `signer`. */
  reparent(message: M, parent: { readonly hash: Uint8Array; readonly height: number }, signer: Signer, self: number): M | undefined;
  /**
   * The same kind of message, validly signed by `signer`, for the view or sequence number
   * `ahead` above the one `message` is for: what a Byzantine replica floods to make others keep
   * state for the far future. Undefined if the message has no such form.
   */
  farFuture?(message: M, signer: Signer, self: number, ahead: number): M | undefined;
  /**
   * A Byzantine answer to a fetch: `message` (an answer this replica is about to send) with what
   * proves it stripped (votes withheld) or its content replaced (another block). Undefined if the
   * message is not an answer.
   */
  corruptAnswer?(message: M, signer: Signer, self: number): M | undefined;
  /**
   * A commit certificate with every set of signatures in it cut to its first `keep` signers: what
   * a replica serving a certificate short of a quorum sends. Undefined if it does not decode.
   */
  thinCertificate?(certificate: Uint8Array, keep: number): Uint8Array | undefined;
}

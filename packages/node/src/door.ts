// Checks at the door: what a peer's consensus message goes through before it reaches the protocol,
// cheapest first, so that a flood costs the flooder's share and little work: a muted peer's
// messages are dropped unread; each peer's share of the input queue is bounded; the message must
// decode; the signatures of the votes it carries must verify (with the protocol's own verifier,
// so each is checked once). A peer caught sending what no honest replica sends (honest replicas
// relay only what they verified, and encode with the one codec) gets a strike; past MAX_STRIKES it
// is muted for MUTE_MS and disconnected, with a few log lines, not one per message.
//
// With a verify pool, the signatures a message carries are checked on the pool's workers first
// (the verifier's scheme remembers the verdicts, so its own check is then a lookup); messages
// still reach the protocol in the order they arrived: one whose checks finish early waits for
// those before it. Messages waiting here count against their peer's share of the queue.
import type { ProtocolDefinition, ProtocolInput, StatementVerifier } from '@bftx/consensus';
import type { ReplicaMetrics } from './metrics';
import type { VerifyJob, VerifyPool } from './verify-pool';

/** Bad messages (bad signature, undecodable) from one peer before it is muted, and for how long. */
const MAX_STRIKES = 16;
const MUTE_MS = 10_000;
/** Log lines per peer between two mutes. */
const LOGGED_STRIKES = 3;

export type MessageInput<M> = Extract<ProtocolInput<M>, { type: 'message' }>;

export interface DoorOptions<M> {
  readonly protocol: ProtocolDefinition<M>;
  readonly verifier: StatementVerifier;
  readonly metrics: ReplicaMetrics;
  /** Most inputs from one peer waiting to be handled. */
  readonly maxQueuedPerPeer: number;
  /** The replica's clock (integer ms). */
  readonly now: () => number;
  /** The log, read at each use (it may be replaced while running). */
  readonly log: () => ((event: string, fields: Record<string, unknown>) => void) | undefined;
  /** Inputs from peer `from` waiting in the runtime's queue. */
  readonly queued: (from: number) => number;
  readonly disconnect: (from: number) => void;
  /** Hands on a message that passed, with its wire bytes. */
  readonly pass: (input: MessageInput<M>, bytes: Uint8Array) => void;
  /** Checks signatures off this thread ahead of `verifier` (whose scheme must be `pool.scheme`). */
  readonly pool?: VerifyPool;
  /** The client signature checks a proposed payload needs (those the pool has not made): checked ahead with the votes. */
  readonly payloadJobs?: (payload: readonly Uint8Array[]) => VerifyJob[];
}

interface Waiting<M> {
  readonly from: number;
  readonly message: M;
  readonly bytes: Uint8Array;
  ready: boolean;
}

export class Door<M> {
  /** Bad messages per peer since it was last muted, and until when it is muted (ms). */
  private readonly strikes: number[] = [];
  private readonly mutedUntil: number[] = [];
  /** Messages whose signatures the pool is checking, or that wait for one before them, in arrival order. */
  private readonly waiting: Array<Waiting<M>> = [];
  private readonly waitingFrom: number[] = [];

  constructor(private readonly o: DoorOptions<M>) {}

  /** A consensus message from authenticated peer `from`. */
  onMessage(from: number, bytes: Uint8Array): void {
    const o = this.o;
    if (o.now() < (this.mutedUntil[from] ?? 0)) return o.metrics.reject('peer_muted');
    // Checked before decoding or verifying: a flood costs the flooder's share of the queue only.
    if (o.queued(from) + (this.waitingFrom[from] ?? 0) >= o.maxQueuedPerPeer) return o.metrics.reject('peer_queue_full');
    let message: M;
    try {
      message = o.protocol.decodeMessage(bytes);
    } catch {
      o.metrics.reject('malformed_consensus');
      return this.misbehaved(from, 'malformed_consensus');
    }
    const jobs: VerifyJob[] = [];
    if (o.pool !== undefined && o.pool.workers > 0) {
      for (const v of o.protocol.votes(message)) {
        const job = o.verifier.signatureCheck(v);
        if (job !== undefined) jobs.push(job);
      }
      // A proposal's client transactions this replica did not admit itself: checked now, so that
      // executing the block finds them checked (not a door check: a bad one earns no strike here).
      const payload = o.payloadJobs === undefined ? undefined : o.protocol.payloadOf?.(message);
      if (payload !== undefined) for (const j of o.payloadJobs!(payload)) jobs.push(j);
    }
    if (jobs.length === 0 && this.waiting.length === 0) return this.admit(from, message, bytes);
    const entry: Waiting<M> = { from, message, bytes, ready: jobs.length === 0 };
    this.waiting.push(entry);
    this.waitingFrom[from] = (this.waitingFrom[from] ?? 0) + 1;
    if (entry.ready) return this.release();
    // A closed pool rejects: the verifier then checks on this thread.
    const done = () => {
      entry.ready = true;
      this.release();
    };
    o.pool!.check(jobs).then(done, done);
  }

  /** Hands on the waiting messages at the head whose checks are done, in arrival order. */
  private release(): void {
    while (this.waiting.length > 0 && this.waiting[0]!.ready) {
      const e = this.waiting.shift()!;
      this.waitingFrom[e.from]!--;
      // Muted while it waited: dropped like the ones that come after.
      if (this.o.now() < (this.mutedUntil[e.from] ?? 0)) this.o.metrics.reject('peer_muted');
      else this.admit(e.from, e.message, e.bytes);
    }
  }

  /** The checks on this thread (answered from the pool's verdicts where it ran them), then on to the runtime. */
  private admit(from: number, message: M, bytes: Uint8Array): void {
    const o = this.o;
    // Votes are checked here, before the protocol, so the sender gets a strike; the verifier is the
    // protocol's own, so each vote is checked once.
    for (const v of o.protocol.votes(message)) {
      if (!o.verifier.verify(v)) {
        o.metrics.reject('bad_signature');
        return this.misbehaved(from, 'bad_signature', { signer: v.signer, kind: o.protocol.messageKind(message) });
      }
    }
    o.metrics.messagesIn.inc({ kind: o.protocol.messageKind(message) });
    o.pass({ type: 'message', from, message, now: o.now() }, bytes);
  }

  private misbehaved(from: number, reason: string, fields: Record<string, unknown> = {}): void {
    const strikes = (this.strikes[from] ?? 0) + 1;
    this.strikes[from] = strikes;
    const log = this.o.log();
    if (strikes <= LOGGED_STRIKES) log?.(reason === 'bad_signature' ? 'bad-signature' : reason, { from, ...fields });
    if (strikes < MAX_STRIKES) return;
    this.strikes[from] = 0;
    this.mutedUntil[from] = this.o.now() + MUTE_MS;
    log?.('peer-muted', { peer: from, reason, forMs: MUTE_MS });
    this.o.disconnect(from);
  }
}

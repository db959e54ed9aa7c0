// Checks at the door: what a peer's consensus message goes through before it reaches the protocol,
// cheapest first, so that a flood costs the flooder's share and little work: a muted peer's
// messages are dropped unread; each peer's share of the input queue is bounded; the message must
// decode; the signatures of the votes it carries must verify (with the protocol's own verifier,
// so each is checked once). A peer caught sending what no honest replica sends (honest replicas
// relay only what they verified, and encode with the one codec) gets a strike; past MAX_STRIKES it
// is muted for MUTE_MS and disconnected, with a few log lines, not one per message.
//
// With a verify pool, the signatures a message carries are checked on the pool's workers first
// (the verifier's scheme remembers the verdicts, so its own check is then a lookup); a peer's
// messages still reach the protocol in the order they arrived: one whose checks finish early
// waits for that peer's earlier ones (never for another peer's). Messages waiting here count
// against their peer's share of the queue. A proposal's client signatures are sent to the pool
// too, ahead of execution, but nothing waits for them (see warmPayload).
import type { ProtocolDefinition, ProtocolInput, StatementVerifier } from '@bftx/consensus';
import type { ReplicaMetrics } from './metrics';
import type { VerifyJob, VerifyPool } from './verify-pool';

/** Bad messages (bad signature, undecodable) from one peer before it is muted, and for how long. */
const MAX_STRIKES = 16;
const MUTE_MS = 10_000;
/** Client signatures in proposals one peer may have the verify pool check ahead at once (about two full blocks). */
const MAX_PAYLOAD_CHECKS_PER_PEER = 20_000;
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
  /** Per peer: its messages whose signatures the pool is checking, or that wait for one before them, in arrival order. */
  private readonly waiting: Array<Array<Waiting<M>>> = [];
  /** Per peer: payload signatures sent to the pool ahead and not answered yet (bounded: MAX_PAYLOAD_CHECKS_PER_PEER). */
  private readonly payloadChecks: number[] = [];

  constructor(private readonly o: DoorOptions<M>) {}

  /** A consensus message from authenticated peer `from`. */
  onMessage(from: number, bytes: Uint8Array): void {
    const o = this.o;
    if (o.now() < (this.mutedUntil[from] ?? 0)) return o.metrics.reject('peer_muted');
    const queue = (this.waiting[from] ??= []);
    // Checked before decoding or verifying: a flood costs the flooder's share of the queue only.
    if (o.queued(from) + queue.length >= o.maxQueuedPerPeer) return o.metrics.reject('peer_queue_full');
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
      this.warmPayload(from, message);
    }
    // Only a message's own signatures hold it back, and only behind its own peer's earlier messages
    // (the order TCP gave them): a slow peer holds up nobody else.
    if (jobs.length === 0 && queue.length === 0) return this.admit(from, message, bytes);
    const entry: Waiting<M> = { from, message, bytes, ready: jobs.length === 0 };
    queue.push(entry);
    if (entry.ready) return this.release(from);
    // A closed pool rejects: the verifier then checks on this thread.
    const done = () => {
      entry.ready = true;
      this.release(from);
    };
    o.pool!.check(jobs).then(done, done);
  }

  /**
   * A proposal's client transactions this replica did not admit itself: sent to the pool ahead so
   * that executing the block finds them checked. Nothing waits for these checks (the message goes
   * on when its own signatures are checked), a bad one earns no strike (the block's proposer may
   * be honest and the client not), and a peer has at most MAX_PAYLOAD_CHECKS_PER_PEER of them
   * outstanding: past that its payloads are left to execution, so junk payloads cost their sender's
   * share of the workers, bounded, and hold up no message.
   */
  private warmPayload(from: number, message: M): void {
    const o = this.o;
    if (o.payloadJobs === undefined) return;
    const outstanding = this.payloadChecks[from] ?? 0;
    if (outstanding >= MAX_PAYLOAD_CHECKS_PER_PEER) return;
    const payload = o.protocol.payloadOf?.(message);
    if (payload === undefined) return;
    const jobs = o.payloadJobs(payload.length > MAX_PAYLOAD_CHECKS_PER_PEER - outstanding ? payload.slice(0, MAX_PAYLOAD_CHECKS_PER_PEER - outstanding) : payload);
    if (jobs.length === 0) return;
    this.payloadChecks[from] = outstanding + jobs.length;
    const done = () => {
      this.payloadChecks[from]! -= jobs.length;
    };
    o.pool!.check(jobs).then(done, done);
  }

  /** Hands on peer `from`'s waiting messages at the head of its queue whose checks are done, in arrival order. */
  private release(from: number): void {
    const queue = this.waiting[from]!;
    while (queue.length > 0 && queue[0]!.ready) {
      const e = queue.shift()!;
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

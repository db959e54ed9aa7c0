import { codec, decode, encode } from '@bftx/crypto';
import { HASH_BYTES, MAX_TX_BYTES } from '../block';
import type { PayloadPolicy } from '../core/payload';
import type { ByzantineHooks, Protocol, ProtocolConfig, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '../protocol';
import { FairOrderingPolicy, MAX_ASK, type FairOrderingOptions, type OrderingAdversary } from './policy';
import { SignedReceiveLogCodec, type SignedReceiveLog } from './receive-log';

/**
 * A message of a protocol run under fair ordering: the protocol's own message, with the sender's
 * signed receive log riding along when the recipient has not had its latest yet; or, between
 * replicas, an ask for transactions by digest and its answer.
 */
export interface Envelope<M> {
  readonly message?: M | undefined;
  readonly log?: SignedReceiveLog | undefined;
  readonly want?: readonly Uint8Array[] | undefined;
  readonly txs?: readonly Uint8Array[] | undefined;
}

const EnvelopeCodec = codec.record({
  message: codec.optional(codec.bytes()),
  log: codec.optional(SignedReceiveLogCodec),
  want: codec.optional(codec.array(codec.fixedBytes(HASH_BYTES), MAX_ASK)),
  txs: codec.optional(codec.array(codec.bytes(MAX_TX_BYTES), MAX_ASK)),
});

/** The timer (every `resignEvery`, delta / 2 by default) on which a replica sends its log when nothing else carried its latest version. */
export const LOG_TIMER = 'fair-ordering.log';

export interface FairOrderingSetup extends FairOrderingOptions {
  /** Byzantine replicas' ordering behaviour (the simulator's attacks), by validator index. */
  readonly adversary?: (self: number) => OrderingAdversary | undefined;
}

/**
 * `def` under leader-proof ordering: each replica runs `FairOrderingPolicy` as its payload policy,
 * and its signed receive log travels to every peer on the messages the protocol sends anyway (a
 * log goes out once per new version per peer; a replica with nothing to send sends it on a timer
 * every delta). Works with any protocol: the protocol itself only calls its payload policy.
 */
export function fairOrdering<M>(def: ProtocolDefinition<M>, setup: FairOrderingSetup = {}): ProtocolDefinition<Envelope<M>> & { readonly policies: FairOrderingPolicy[] } {
  const policies: FairOrderingPolicy[] = [];
  const inner = (e: Envelope<M>): M | undefined => e.message;
  const hooks = def.byzantine;
  const lift =
    <A extends unknown[]>(f: ((m: M, ...a: A) => M | undefined) | undefined) =>
    (e: Envelope<M>, ...a: A): Envelope<M> | undefined => {
      const m = inner(e);
      const out = m === undefined || f === undefined ? undefined : f(m, ...a);
      return out === undefined ? undefined : { ...e, message: out };
    };
  const byzantine: ByzantineHooks<Envelope<M>> | undefined =
    hooks === undefined
      ? undefined
      : {
          conflicting: lift(hooks.conflicting.bind(hooks)),
          isVote: (e) => e.message !== undefined && hooks.isVote(e.message),
          withBadSignature: (e) => (e.message === undefined ? e : { ...e, message: hooks.withBadSignature(e.message) }),
          withForgedParent: lift(hooks.withForgedParent.bind(hooks)),
          voteFor: lift(hooks.voteFor.bind(hooks)),
          signerOf: (e) => (e.message === undefined ? (e.log?.signer ?? -1) : hooks.signerOf(e.message)),
          proposedBlock: (e) => (e.message === undefined ? undefined : hooks.proposedBlock(e.message)),
          reparent: lift(hooks.reparent.bind(hooks)),
          ...(hooks.farFuture ? { farFuture: lift(hooks.farFuture.bind(hooks)) } : {}),
          ...(hooks.corruptAnswer ? { corruptAnswer: lift(hooks.corruptAnswer.bind(hooks)) } : {}),
          ...(hooks.thinCertificate ? { thinCertificate: hooks.thinCertificate.bind(hooks) } : {}),
        };
  return {
    name: `${def.name}+fair`,
    policies,
    create(config: ProtocolConfig): Protocol<Envelope<M>> {
      const policy = new FairOrderingPolicy(config.self, config.validators, config.scheme, config.signer, config.timing.delta, setup, setup.adversary?.(config.self));
      if (config.finalized !== undefined) policy.recallFinal(config.finalized);
      policies.push(policy);
      return new FairlyOrdered(def.create({ ...config, payload: policy }), policy, config);
    },
    encodeMessage: (e) => encode(EnvelopeCodec, { message: e.message === undefined ? undefined : def.encodeMessage(e.message), log: e.log, want: e.want?.slice(), txs: e.txs?.slice() }),
    decodeMessage(bytes) {
      const e = decode(EnvelopeCodec, bytes);
      return { message: e.message === undefined ? undefined : def.decodeMessage(e.message), log: e.log, want: e.want, txs: e.txs };
    },
    messageKind: (e) => (e.message !== undefined ? def.messageKind(e.message) : e.want !== undefined ? 'tx-ask' : e.txs !== undefined ? 'tx-answer' : 'receive-log'),
    // Logs ride on messages already sent; a transaction a leader must ask for costs one round trip more.
    livenessBound: (timing, n) => def.livenessBound(timing, n) + 2 * timing.delta,
    ...(byzantine ? { byzantine } : {}),
    votes: (e) => (e.message === undefined ? [] : def.votes(e.message)),
    ...(def.payloadOf ? { payloadOf: (e: Envelope<M>) => (e.message === undefined ? undefined : def.payloadOf!(e.message)) } : {}),
    // The same blocks, the same statements: the inner protocol's certificates (passed through by `step`).
    ...(def.verifyCommit ? { verifyCommit: def.verifyCommit.bind(def) } : {}),
  };
}

class FairlyOrdered<M> implements Protocol<Envelope<M>> {
  /** The log version each peer was last sent. */
  private readonly sent: number[];
  private readonly peers: number[];

  constructor(
    private readonly inner: Protocol<M>,
    private readonly policy: FairOrderingPolicy,
    config: ProtocolConfig,
  ) {
    const n = config.validators.n;
    this.sent = new Array<number>(n).fill(-1);
    this.peers = Array.from({ length: n }, (_, i) => i).filter((i) => i !== config.self);
  }

  get self(): number {
    return this.inner.self;
  }

  footprint() {
    return this.inner.footprint?.() ?? { retained: 0, dropped: 0 };
  }

  step(input: ProtocolInput<Envelope<M>>): ProtocolOutput<Envelope<M>>[] {
    const now = input.now;
    const extra: ProtocolOutput<Envelope<M>>[] = [];
    let innerOut: readonly ProtocolOutput<M>[] = [];
    switch (input.type) {
      case 'start':
        innerOut = this.inner.step(input);
        extra.push({ type: 'set-timer', timer: LOG_TIMER, at: now + this.policy.resignEvery });
        break;
      case 'timer':
        if (input.timer === LOG_TIMER) {
          extra.push({ type: 'set-timer', timer: LOG_TIMER, at: now + this.policy.resignEvery });
          const log = this.policy.ownLog(now);
          // Transactions fresh logs oblige and this replica lacks: asked of a peer that logged them.
          for (const [to, want] of this.policy.missing(now)) extra.push({ type: 'send', to, message: { want } });
          if (this.peers.some((p) => this.sent[p] !== this.policy.version)) {
            for (const p of this.peers) this.sent[p] = this.policy.version;
            extra.push({ type: 'broadcast', message: { log } });
          }
        } else innerOut = this.inner.step(input);
        break;
      case 'transactions':
        innerOut = this.inner.step(input);
        break;
      case 'message': {
        const e = input.message;
        const from = input.from;
        if (e.log !== undefined && !this.policy.receiveLog(from, e.log)) extra.push({ type: 'reject', code: 'BAD_SIGNATURE', from, kind: 'receive-log' });
        if (e.want !== undefined) {
          const txs = this.policy.lookup(e.want);
          if (txs.length > 0) extra.push({ type: 'send', to: from, message: { txs } });
        }
        if (e.txs !== undefined) {
          const { taken, held, unasked } = this.policy.answered(e.txs, now);
          if (held > 0) extra.push({ type: 'reject', code: 'DUPLICATE', from, kind: 'tx-answer' });
          if (unasked > 0) extra.push({ type: 'reject', code: 'INVALID_PAYLOAD', from, kind: 'tx-answer' });
          if (taken.length > 0) innerOut = this.inner.step({ type: 'transactions', txs: taken, now });
        }
        if (e.message !== undefined) {
          const more = this.inner.step({ type: 'message', from, message: e.message, now });
          innerOut = innerOut.length === 0 ? more : [...innerOut, ...more];
        }
        break;
      }
    }
    const out = this.wrap(innerOut, now);
    return extra.length === 0 ? out : [...out, ...extra];
  }

  /** The inner outputs with messages enveloped, the own log attached where a recipient lacks its latest version. */
  private wrap(outputs: readonly ProtocolOutput<M>[], now: number): ProtocolOutput<Envelope<M>>[] {
    const out: ProtocolOutput<Envelope<M>>[] = [];
    if (!outputs.some((o) => o.type === 'send' || o.type === 'broadcast')) {
      for (const o of outputs) out.push(o as ProtocolOutput<Envelope<M>>);
      return out;
    }
    this.policy.ownLog(now); // re-signed first if it changed, so `version` names what is attached
    const version = this.policy.version;
    for (const o of outputs) {
      if (o.type === 'send') {
        const attach = this.sent[o.to] !== version;
        if (attach) this.sent[o.to] = version;
        out.push({ type: 'send', to: o.to, message: attach ? { message: o.message, log: this.policy.ownLog(now) } : { message: o.message } });
      } else if (o.type === 'broadcast') {
        const attach = this.peers.some((p) => this.sent[p] !== version);
        if (attach) for (const p of this.peers) this.sent[p] = version;
        out.push({ type: 'broadcast', message: attach ? { message: o.message, log: this.policy.ownLog(now) } : { message: o.message } });
      } else out.push(o);
    }
    return out;
  }
}

/**
 * `def` with each replica's payload policy chosen by `policy` (given the replica's config), e.g. a
 * Byzantine replica's `adversarialPayload(new FifoPayloadPolicy(), attack)`; undefined keeps the default.
 */
export function withPayloadPolicy<M>(def: ProtocolDefinition<M>, policy: (config: ProtocolConfig) => PayloadPolicy | undefined): ProtocolDefinition<M> {
  return {
    ...def,
    create(config) {
      const chosen = policy(config);
      return def.create(chosen === undefined ? config : { ...config, payload: chosen });
    },
  };
}

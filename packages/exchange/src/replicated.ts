import { toHex, type SignatureScheme } from '@bftx/crypto';
import { payloadTransactions, StatementVerifier, txKey, verifyEvidence, type Block, type Evidence, type Protocol, type ProtocolConfig, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput } from '@bftx/consensus';
import type { ExchangeConfig } from './config';
import { ExchangeError, type AdmissionReason } from './errors';
import { Exchange, type BlockResult, type ForgedTransactionEvidence } from './exchange';

/** One offender with the first verified evidence against it. */
export interface Offence {
  readonly offender: number;
  readonly evidence: Evidence | ForgedTransactionEvidence;
}

export interface ReplicatedExchangeOptions {
  readonly exchange: ExchangeConfig;
  /**
   * The scheme client and operator signatures are checked with (the consensus keys may use
   * another); or one per replica, given its validator index (a runtime that verifies on a
   * worker pool per replica, say).
   */
  readonly clientScheme: SignatureScheme | ((self: number) => SignatureScheme);
  /**
   * Byzantine behaviour for tests and demos, as a wrapper around the honest
   * replica: these validators' mempools admit every transaction unchecked,
   * so their blocks carry whatever clients sent, forged or not.
   */
  readonly uncheckedMempool?: readonly number[];
  /**
   * Per-account admission rate (a token bucket on the runtime's clock): at most `burst` at once
   * and `perSecond` after that (defaults 1,000 and 500), so one client cannot fill the mempool.
   */
  readonly admissionRate?: { readonly perSecond: number; readonly burst: number };
}

/** A transaction the mempool took, or why not. */
export type AdmissionVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: AdmissionReason; readonly detail: string };

/** Keys of transactions a client API admitted (rate counted), so the step that follows does not count them again. */
const MAX_PRE_ADMITTED = 100_000;

/**
 * An exchange replicated by any consensus protocol: wraps a protocol
 * instance, checks client signatures before transactions enter its mempool,
 * and applies every finalized block to its own `Exchange`, recording the
 * state root per height and the offenders it can prove.
 */
export class ReplicatedExchange<M> implements Protocol<M> {
  private current: Exchange;
  /** State root (hex) after each finalized height, index 0 = height 1. */
  readonly stateRoots: string[] = [];
  /** Transactions the mempool turned away, by reason, and how many it let in. */
  readonly mempool: { admitted: number; rejected: Record<AdmissionReason, number> } = {
    admitted: 0,
    rejected: { MALFORMED: 0, BAD_SIGNATURE: 0, WRONG_CLUSTER: 0, STALE_NONCE: 0, EXPIRED: 0, EXPIRY_TOO_FAR: 0, UNKNOWN_ACCOUNT: 0, UNKNOWN_SYMBOL: 0, INSUFFICIENT_FUNDS: 0, RATE_LIMITED: 0 },
  };
  /** Per account: tokens left and when they were counted (ms). */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly preAdmitted = new Set<string>();
  private readonly rate: { readonly perSecond: number; readonly burst: number };
  private readonly offences = new Map<number, Offence>();
  private readonly verifier: StatementVerifier;
  private readonly listeners: Array<(result: BlockResult, now: number) => void> = [];

  constructor(
    private readonly inner: Protocol<M>,
    config: ProtocolConfig,
    options: ReplicatedExchangeOptions,
    private readonly checkMempool = true,
  ) {
    this.scheme = typeof options.clientScheme === 'function' ? options.clientScheme(config.self) : options.clientScheme;
    this.exchangeConfig = options.exchange;
    this.current = new Exchange(options.exchange, this.scheme);
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.rate = options.admissionRate ?? { perSecond: 500, burst: 1_000 };
  }

  /**
   * Admission of a client transaction at `now` (ms): it decodes, its signature verifies, it can still
   * execute against the current state (this cluster's, not expired at the next height nor expiring
   * too far ahead, nonce unused, account known, a limit order's funds there now),
   * and its account is within its rate. A client API calls this to answer the client; the
   * transaction then offered with the 'transactions' input is not counted against the rate again.
   */
  admit(tx: Uint8Array, now: number): AdmissionVerdict {
    const verdict = this.check(tx, now, true);
    if (verdict.ok) {
      if (this.preAdmitted.size >= MAX_PRE_ADMITTED) this.preAdmitted.delete(this.preAdmitted.values().next().value!);
      this.preAdmitted.add(txKey(tx));
    }
    return verdict;
  }

  private check(tx: Uint8Array, now: number, countRate: boolean): AdmissionVerdict {
    const stateless = this.current.admit(tx);
    if (!stateless.ok) return stateless;
    const stateful = this.current.admissible(stateless.tx);
    if (!stateful.ok) return stateful;
    // Transfers are the operator's, signed by its key: only clients are held to a rate (one shared
    // bucket for every transfer would let anyone replaying one block the operator's next).
    if (!countRate || stateless.tx.type !== 'order') return { ok: true };
    const account = toHex(stateless.tx.account);
    const b = this.buckets.get(account) ?? { tokens: this.rate.burst, at: now };
    b.tokens = Math.min(this.rate.burst, b.tokens + (Math.max(0, now - b.at) * this.rate.perSecond) / 1000);
    b.at = Math.max(b.at, now);
    this.buckets.set(account, b);
    if (b.tokens < 1) return { ok: false, reason: 'RATE_LIMITED', detail: `at most ${this.rate.perSecond} transactions a second per account (${this.rate.burst} at once)` };
    b.tokens -= 1;
    return { ok: true };
  }

  private readonly scheme: SignatureScheme;
  private readonly exchangeConfig: ExchangeConfig;

  get self(): number {
    return this.inner.self;
  }

  /** The exchange state after the last finalized block applied. */
  get exchange(): Exchange {
    return this.current;
  }

  /**
   * Starts from a snapshot of the exchange after height `stateRoots.length` (a runtime restarting
   * from disk) instead of replaying every block from genesis; `stateRoots` are the roots after each
   * height up to it, and the snapshot's own root must be the last of them. Only before any block is
   * applied. Throws ExchangeError INVALID_SNAPSHOT otherwise.
   */
  restore(snapshot: Uint8Array, stateRoots: readonly string[]): void {
    if (this.stateRoots.length > 0) throw new ExchangeError('INVALID_SNAPSHOT', 'restore comes before any block is applied');
    const restored = Exchange.restore(this.exchangeConfig, this.scheme, snapshot);
    const root = toHex(restored.stateRoot());
    if (stateRoots.length === 0 || stateRoots[stateRoots.length - 1] !== root) throw new ExchangeError('INVALID_SNAPSHOT', `the snapshot's state root ${root.slice(0, 12)} is not the root recorded for height ${stateRoots.length}`);
    this.current = restored;
    this.stateRoots.push(...stateRoots);
  }

  /** Calls `listener` with the result of every finalized block applied here, in order, and the runtime's time. */
  onBlock(listener: (result: BlockResult, now: number) => void): void {
    this.listeners.push(listener);
  }

  /** Distinct offenders, each with its first verified evidence (equivocation, or a finalized block carrying a forged transaction). */
  get detected(): Offence[] {
    return [...this.offences.values()].sort((a, b) => a.offender - b.offender);
  }

  step(input: ProtocolInput<M>): ProtocolOutput<M>[] {
    let effective = input;
    if (input.type === 'transactions' && this.checkMempool) {
      const admitted = input.txs.filter((tx) => {
        const verdict = this.check(tx, input.now, !this.preAdmitted.delete(txKey(tx)));
        if (verdict.ok) this.mempool.admitted++;
        else this.mempool.rejected[verdict.reason]++;
        return verdict.ok;
      });
      effective = { ...input, txs: admitted };
    } else if (input.type === 'transactions') this.mempool.admitted += input.txs.length;
    const outputs = this.inner.step(effective);
    this.observe(outputs, input.now);
    return outputs;
  }

  /**
   * Takes in what the wrapped protocol output (finalized blocks are applied, evidence verified and
   * kept). `step` does this itself; a runtime that replays the protocol's logged inputs past `step`
   * calls it with the replayed outputs.
   */
  observe(outputs: readonly ProtocolOutput<M>[], now: number): void {
    for (const o of outputs) {
      if (o.type === 'commit') this.applyFinalized(o.blocks, now);
      else if (o.type === 'evidence' && !this.offences.has(o.evidence.offender) && verifyEvidence(o.evidence, this.verifier)) {
        this.offences.set(o.evidence.offender, { offender: o.evidence.offender, evidence: o.evidence });
      }
    }
  }

  /**
   * Applies finalized blocks to the exchange, in order: the protocol's commits, or blocks a runtime
   * reloaded from disk or fetched from peers with a proof of finality. The caller makes sure each
   * block follows the last one applied.
   */
  applyFinalized(blocks: readonly Block[], now: number): void {
    for (const block of blocks) {
      // A fair-ordering block's receive logs order its transactions; only the transactions execute.
      const result = this.current.apply({ height: block.height, proposer: block.proposer, payload: payloadTransactions(block.payload), timestamp: block.height });
      this.stateRoots.push(toHex(result.stateRoot));
      for (const e of result.evidence) if (!this.offences.has(e.proposer)) this.offences.set(e.proposer, { offender: e.proposer, evidence: e });
      for (const l of this.listeners) l(result, now);
    }
  }
}

/**
 * A protocol definition whose replicas are replicated exchanges: hand it to
 * any runtime (the simulator, a real replica) in place of the bare protocol.
 * `replicas` lists every instance created, in creation order.
 */
export function replicatedExchange<M>(protocol: ProtocolDefinition<M>, options: ReplicatedExchangeOptions): ProtocolDefinition<M> & { readonly replicas: ReplicatedExchange<M>[] } {
  const replicas: ReplicatedExchange<M>[] = [];
  const unchecked = new Set(options.uncheckedMempool ?? []);
  return {
    ...protocol,
    name: `${protocol.name}+exchange`,
    replicas,
    create(config: ProtocolConfig) {
      const r = new ReplicatedExchange(protocol.create(config), config, options, !unchecked.has(config.self));
      replicas.push(r);
      return r;
    },
  };
}

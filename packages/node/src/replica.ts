// A real replica: one protocol instance wrapped as a replicated exchange, driven with the wall
// clock, real timers, TCP and a store on disk. Inputs are handled one at a time, and each input's
// outputs are carried out in order: a `persist` is fsynced before any later output (a vote is
// never sent before the state that forbids a second one is durable).
import { Ledger, txKey, ValidatorSet, type Block, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput, type Timing } from '@bftx/consensus';
import type { SignatureScheme } from '@bftx/crypto';
import { replicatedExchange, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { ReplicaMetrics } from './metrics';
import { ReplicaStore } from './store';
import { Transport, type PeerAddress } from './transport';
import { clusterId } from './wire';

export interface ReplicaOptions<M> {
  readonly protocol: ProtocolDefinition<M>;
  /** This replica's validator index. */
  readonly self: number;
  readonly validatorKeys: readonly Uint8Array[];
  /** Consensus signatures (the validator keys) and client signatures. */
  readonly scheme: SignatureScheme;
  readonly clientScheme: SignatureScheme;
  readonly secretKey: Uint8Array;
  readonly timing: Timing;
  readonly exchange: ExchangeConfig;
  readonly dataDir: string;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyArray<PeerAddress | undefined>;
  readonly maxBlockTxs?: number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /** The clock, in integer ms (default Date.now). */
  readonly clock?: () => number;
}

const MAX_TRACKED_ARRIVALS = 100_000;

export class ReplicaNode<M> {
  readonly metrics: ReplicaMetrics;
  readonly ledger = new Ledger();
  private store!: ReplicaStore;
  private transport!: Transport;
  private replica!: ReplicatedExchange<M>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  // txKey -> when it reached this replica, for the latency histogram. Bounded: transactions the
  // mempool turns away never finalize, and must not grow this map for ever.
  private readonly arrivals = new Map<string, number>();
  private running = false;
  private fatal: Error | undefined;
  port = 0;

  constructor(readonly options: ReplicaOptions<M>) {
    this.metrics = new ReplicaMetrics({ replica: options.self, protocol: options.protocol.name });
  }

  private now(): number {
    return Math.floor((this.options.clock ?? Date.now)());
  }

  get exchange(): ReplicatedExchange<M> {
    return this.replica;
  }

  /** Opens the store, starts the protocol (from its stored safety state) and the network. */
  async start(): Promise<void> {
    const o = this.options;
    this.store = await ReplicaStore.open(o.dataDir);
    const validators = new ValidatorSet(o.validatorKeys);
    const signer = o.scheme.signer(o.secretKey);
    const safetyState = await this.store.safetyState();
    const definition = replicatedExchange(o.protocol, { exchange: o.exchange, clientScheme: o.clientScheme });
    this.replica = definition.create({ self: o.self, validators, scheme: o.scheme, signer, timing: o.timing, ...(safetyState ? { safetyState } : {}), ...(o.maxBlockTxs ? { maxBlockTxs: o.maxBlockTxs } : {}) }) as ReplicatedExchange<M>;
    this.transport = new Transport({
      self: o.self,
      validators,
      scheme: o.scheme,
      signer,
      cluster: clusterId(o.protocol.name, validators),
      listen: o.listen,
      peers: o.peers,
      metrics: this.metrics,
      onMessage: (from, bytes) => this.onMessage(from, bytes),
      ...(o.log ? { log: o.log } : {}),
    });
    // The protocol starts before the network does: no peer message may reach it ahead of `start`.
    this.running = true;
    this.enqueue({ type: 'start', now: this.now() });
    this.port = await this.transport.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.transport?.stop();
    await this.chain.catch(() => undefined);
    await this.store?.close();
  }

  /** Offers client transactions (signed orders) to this replica's mempool. */
  submit(txs: readonly Uint8Array[]): void {
    const now = this.now();
    for (const tx of txs) {
      const key = txKey(tx);
      if (this.arrivals.size < MAX_TRACKED_ARRIVALS && !this.arrivals.has(key)) this.arrivals.set(key, now);
    }
    this.enqueue({ type: 'transactions', txs, now });
  }

  /** The first error that stopped this replica (a store failure, a conflicting finalization), if any. */
  get failure(): Error | undefined {
    return this.fatal;
  }

  /** Resolves once every input enqueued so far has been handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  connectedPeers(): number[] {
    return this.transport.connectedPeers();
  }

  private onMessage(from: number, bytes: Uint8Array): void {
    let message: M;
    try {
      message = this.options.protocol.decodeMessage(bytes);
    } catch {
      this.metrics.reject('malformed_consensus');
      return;
    }
    this.metrics.messagesIn.inc({ kind: this.options.protocol.messageKind(message) });
    this.enqueue({ type: 'message', from, message, now: this.now() });
  }

  private enqueue(input: ProtocolInput<M>): void {
    this.chain = this.chain.then(() => (this.running && this.fatal === undefined ? this.handle(input) : undefined));
  }

  private async handle(input: ProtocolInput<M>): Promise<void> {
    const outputs = this.replica.step(input);
    try {
      for (const o of outputs) await this.carryOut(o);
    } catch (e) {
      // A replica that cannot make its state durable must stop rather than go on unsafely.
      this.fatal = e instanceof Error ? e : new Error(String(e));
      this.options.log?.('fatal', { error: this.fatal.message });
      this.running = false;
      await this.transport.stop();
    }
  }

  private async carryOut(o: ProtocolOutput<M>): Promise<void> {
    switch (o.type) {
      case 'persist':
        await this.store.putSafetyState(o.state);
        this.metrics.persists.inc();
        return;
      case 'send':
        this.metrics.messagesOut.inc({ kind: this.options.protocol.messageKind(o.message) });
        this.transport.send(o.to, this.options.protocol.encodeMessage(o.message));
        return;
      case 'broadcast':
        this.metrics.messagesOut.inc({ kind: this.options.protocol.messageKind(o.message) }, this.options.validatorKeys.length - 1);
        this.transport.broadcast(this.options.protocol.encodeMessage(o.message));
        return;
      case 'set-timer': {
        clearTimeout(this.timers.get(o.timer));
        const timer = o.timer;
        this.timers.set(
          timer,
          setTimeout(() => {
            this.timers.delete(timer);
            this.enqueue({ type: 'timer', timer, now: this.now() });
          }, Math.max(0, o.at - this.now())),
        );
        return;
      }
      case 'cancel-timer':
        clearTimeout(this.timers.get(o.timer));
        this.timers.delete(o.timer);
        return;
      case 'commit':
        await this.commit(o.blocks);
        return;
      case 'evidence':
        this.options.log?.('evidence', { offender: o.evidence.offender });
        return;
      case 'trace':
        return;
    }
  }

  private async commit(blocks: readonly Block[]): Promise<void> {
    const added = this.ledger.extend(blocks); // throws on a conflicting finalization: fatal
    await this.store.appendBlocks(added);
    const now = this.now();
    for (const b of added) {
      this.metrics.finalizedTransactions.inc(b.payload.length);
      for (const tx of b.payload) {
        const key = txKey(tx);
        const at = this.arrivals.get(key);
        if (at !== undefined) {
          this.metrics.finalizationLatency.observe((now - at) / 1000);
          this.arrivals.delete(key);
        }
      }
    }
    this.metrics.height.set(this.ledger.height);
  }
}

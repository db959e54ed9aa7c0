// Sits between the replicated exchange and the bare protocol, with two jobs:
// - it records every input the protocol is given, after the exchange's admission (for the
//   write-ahead log);
// - it hands the protocol's commits to the runtime past the exchange: the runtime checks them
//   against its ledger (a different block at a finalized height stops the replica:
//   LEDGER_CONFLICT) and applies only the blocks new to it to the exchange, so a block the
//   protocol finalizes again (after a restart, say) is never applied twice.
//
// What is logged is bounded, so a Byzantine validator replaying valid messages cannot grow the
// disk: only messages and transactions (what a restart offers again; starts and timers are not),
// each message once per log (its bytes' hash), and at most `maxLoggedMessages` messages between two
// safety states. A message not logged is still handled; after a crash the peers re-send.
import { createHash } from 'node:crypto';
import type { Protocol, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import type { ReplicaMetrics } from './metrics';
import { encodeInputRecord } from './wal';

/** Default most messages logged between two safety states. */
export const MAX_LOGGED_MESSAGES = 4096;

type Commit<M> = Extract<ProtocolOutput<M>, { type: 'commit' }>;

export class LoggedProtocol<M> implements Protocol<M> {
  /** Wire bytes of message inputs, logged as they came (a replay decodes them exactly as they were decoded first). */
  readonly rawMessages = new WeakMap<object, Uint8Array>();
  private records: Uint8Array[] = [];
  private commits: Commit<M>[] = [];
  /** Commit certificates the protocol output since the last take, each with the height of its commit's last block. */
  private certificates: Array<{ height: number; certificate: Uint8Array }> = [];
  /** Hashes of the messages in the log now (since the last safety state). */
  private readonly inLog = new Set<string>();

  constructor(
    private readonly inner: Protocol<M>,
    private readonly definition: ProtocolDefinition<M>,
    private readonly metrics?: ReplicaMetrics,
    private readonly maxLoggedMessages = MAX_LOGGED_MESSAGES,
  ) {}

  /** The store truncated the log (a safety state was written): messages may be logged again. */
  logTruncated(): void {
    this.inLog.clear();
  }

  private log(input: ProtocolInput<M>): void {
    if (input.type === 'transactions') {
      this.records.push(encodeInputRecord(this.definition, input));
      return;
    }
    if (input.type !== 'message') return; // starts and timers are never offered again
    // Named by its wire bytes (what the runtime received), so a skipped message costs a hash, not an encoding.
    const raw = this.rawMessages.get(input) ?? this.definition.encodeMessage(input.message);
    const key = createHash('sha256').update(raw).digest('base64');
    if (this.inLog.has(key)) return void this.metrics?.logSkipped.inc({ reason: 'duplicate' });
    if (this.inLog.size >= this.maxLoggedMessages) return void this.metrics?.logSkipped.inc({ reason: 'log_full' });
    this.inLog.add(key);
    this.records.push(encodeInputRecord(this.definition, input, raw));
  }

  get self(): number {
    return this.inner.self;
  }

  step(input: ProtocolInput<M>): ProtocolOutput<M>[] {
    this.log(input);
    const outputs = this.inner.step(input);
    if (!outputs.some((o) => o.type === 'commit')) return outputs;
    const passed: ProtocolOutput<M>[] = [];
    for (const o of outputs) {
      if (o.type === 'commit') {
        this.commits.push(o);
        const certificate = (o as { readonly certificate?: Uint8Array }).certificate;
        const last = o.blocks[o.blocks.length - 1];
        if (certificate !== undefined && last !== undefined) this.certificates.push({ height: last.height, certificate });
      } else passed.push(o);
    }
    return passed;
  }

  /** Adds the commits withheld from the exchange during the step that returned `outputs` back to them (in place), for the runtime. */
  handOver(outputs: ProtocolOutput<M>[]): ProtocolOutput<M>[] {
    if (this.commits.length === 0) return outputs;
    for (const c of this.commits) outputs.push(c);
    this.commits = [];
    return outputs;
  }

  /** Commit certificates since the last call (each proves its height's block final), to be stored. */
  takeCertificates(): Array<{ height: number; certificate: Uint8Array }> {
    const c = this.certificates;
    if (c.length > 0) this.certificates = [];
    return c;
  }

  /** Input records since the last call, to be logged. */
  takeRecords(): Uint8Array[] {
    const r = this.records;
    this.records = [];
    return r;
  }
}

// Sits between the replicated exchange and the bare protocol: records every input the protocol is
// given (for the write-ahead log), and passes on only the finalized blocks the replica's ledger did
// not hold yet. Blocks it already holds (reloaded from disk, or fetched from peers) are checked
// against it: a different block at a finalized height stops the replica (LEDGER_CONFLICT).
//
// What is logged is bounded, so a Byzantine validator replaying valid messages cannot grow the
// disk: only messages and transactions (what a restart offers again; starts and timers are not),
// each message once per log (its bytes' hash), and at most `maxLoggedMessages` messages between two
// safety states. A message not logged is still handled; after a crash the peers re-send.
import { createHash } from 'node:crypto';
import type { Block, Ledger, Protocol, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import type { ReplicaMetrics } from './metrics';
import { encodeInputRecord } from './wal';

/** Default most messages logged between two safety states. */
export const MAX_LOGGED_MESSAGES = 4096;

export class LoggedProtocol<M> implements Protocol<M> {
  /** Wire bytes of message inputs, logged as they came (a replay decodes them exactly as they were decoded first). */
  readonly rawMessages = new WeakMap<object, Uint8Array>();
  private records: Uint8Array[] = [];
  private added: Block[] = [];
  /** Hashes of the messages in the log now (since the last safety state). */
  private readonly inLog = new Set<string>();

  constructor(
    private readonly inner: Protocol<M>,
    private readonly definition: ProtocolDefinition<M>,
    private readonly ledger: Ledger,
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
      if (o.type !== 'commit') passed.push(o);
      else {
        const added = this.ledger.extend(o.blocks); // throws on a conflict
        if (added.length === 0) continue;
        this.added.push(...added);
        passed.push({ type: 'commit', blocks: added });
      }
    }
    return passed;
  }

  /** Input records since the last call, to be logged. */
  takeRecords(): Uint8Array[] {
    const r = this.records;
    this.records = [];
    return r;
  }

  /** Blocks newly finalized since the last call, to be stored. */
  takeAdded(): Block[] {
    const a = this.added;
    this.added = [];
    return a;
  }
}

// Sits between the replicated exchange and the bare protocol: records every input the protocol is
// given (for the write-ahead log), and passes on only the finalized blocks the replica's ledger did
// not hold yet. Blocks it already holds (reloaded from disk, or fetched from peers) are checked
// against it: a different block at a finalized height stops the replica (LEDGER_CONFLICT).
import type { Block, Ledger, Protocol, ProtocolDefinition, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { encodeInputRecord } from './wal';

export class LoggedProtocol<M> implements Protocol<M> {
  /** Wire bytes of message inputs, logged as they came (a replay decodes them exactly as they were decoded first). */
  readonly rawMessages = new WeakMap<object, Uint8Array>();
  private records: Uint8Array[] = [];
  private added: Block[] = [];

  constructor(
    private readonly inner: Protocol<M>,
    private readonly definition: ProtocolDefinition<M>,
    private readonly ledger: Ledger,
  ) {}

  get self(): number {
    return this.inner.self;
  }

  step(input: ProtocolInput<M>): ProtocolOutput<M>[] {
    this.records.push(encodeInputRecord(this.definition, input, input.type === 'message' ? this.rawMessages.get(input) : undefined));
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

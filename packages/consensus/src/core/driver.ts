import type { Block } from '../block';
import type { Evidence } from '../evidence';
import type { ProtocolInput, ProtocolOutput } from '../protocol';
import type { Rejection } from '../rejection';

/**
 * A `commit` output's last block and the certificate that it is final. `certified` says whether the
 * output carried one; `certificate` reads it (a protocol may encode it only then: read it only when
 * it is kept or checked).
 */
export interface CommitCertificate {
  readonly block: Block;
  readonly certified: boolean;
  readonly certificate: Uint8Array | undefined;
}

/** Outputs the runtime carries out after what is durable: messages, timers, traces (and any a wrapper adds). */
export type Action<O extends { readonly type: string }> = Exclude<O, { readonly type: 'persist' | 'commit' | 'evidence' | 'reject' }>;

/** What a group of inputs asks of a runtime, split the way every runtime must carry it out. */
export interface Driven<O extends { readonly type: string }> {
  /**
   * What must be durable before any action is carried out: the latest safety state (each `persist`
   * is a whole state, so the last one stands for those before it: writing it first is at least as
   * strict as the per-output rule), the blocks finalized (in order, possibly conflicting: the
   * ledger refuses those), and the evidence found.
   */
  readonly durable: {
    readonly safetyState: Uint8Array | undefined;
    readonly persists: number;
    readonly commits: readonly Block[];
    /** One per `commit` output, in order: its last block and the certificate it carried (if any). */
    readonly certificates: readonly CommitCertificate[];
    readonly evidence: readonly Evidence[];
  };
  /** Then, in order. */
  readonly actions: readonly Action<O>[];
  /** Inputs the protocol refused, with their codes: to be counted. */
  readonly rejections: readonly Rejection[];
}

/** What `drive` fills; `newDriven()` makes one a runtime may pass to every call (no allocation per group). */
export interface MutableDriven<O extends { readonly type: string }> extends Driven<O> {
  readonly durable: { safetyState: Uint8Array | undefined; persists: number; readonly commits: Block[]; readonly certificates: CommitCertificate[]; readonly evidence: Evidence[] };
  readonly actions: Action<O>[];
  readonly rejections: Rejection[];
}

export function newDriven<O extends { readonly type: string }>(): MutableDriven<O> {
  return { durable: { safetyState: undefined, persists: 0, commits: [], certificates: [], evidence: [] }, actions: [], rejections: [] };
}

/**
 * The one driver: steps `protocol` through `inputs` in order and splits what it asks into
 * `durable`, `actions` and `rejections`. Pure: the simulator and the replica both call it; the
 * simulator applies `durable` and enqueues the actions, the replica writes `durable` to disk in one
 * batch, then sends. With `into`, the result is written there (its previous content cleared)
 * instead of into new arrays: a runtime that consumes each result before the next call passes the
 * same one every time, and a step costs no allocation here (the simulator drives millions).
 */
export function drive<M, O extends { readonly type: string } = ProtocolOutput<M>>(protocol: { step(input: ProtocolInput<M>): O[] }, inputs: Iterable<ProtocolInput<M>>, into: MutableDriven<O> = newDriven<O>()): Driven<O> {
  const { durable, actions, rejections } = into;
  durable.safetyState = undefined;
  durable.persists = 0;
  // (Setting a length is slow even when it changes nothing: only when there is something to clear.)
  if (durable.commits.length > 0) {
    durable.commits.length = 0;
    durable.certificates.length = 0;
  }
  if (durable.evidence.length > 0) durable.evidence.length = 0;
  if (actions.length > 0) actions.length = 0;
  if (rejections.length > 0) rejections.length = 0;
  for (const input of inputs) {
    const outputs = protocol.step(input);
    for (let k = 0; k < outputs.length; k++) {
      const o = outputs[k]!;
      const out = o as unknown as ProtocolOutput<M>;
      switch (out.type) {
        case 'persist':
          durable.safetyState = out.state;
          durable.persists++;
          break;
        case 'commit':
          if (out.blocks.length === 0) break;
          for (const b of out.blocks) durable.commits.push(b);
          durable.certificates.push(new CommitEntry(out.blocks[out.blocks.length - 1]!, out));
          break;
        case 'evidence':
          durable.evidence.push(out.evidence);
          break;
        case 'reject':
          rejections.push(out);
          break;
        default:
          actions.push(o as Action<O>);
      }
    }
  }
  return into;
}

/** A commit output's entry in `durable.certificates`: reads the output's certificate only when asked. */
class CommitEntry implements CommitCertificate {
  constructor(
    readonly block: Block,
    private readonly output: { readonly certificate?: Uint8Array },
  ) {}

  get certified(): boolean {
    return 'certificate' in this.output;
  }

  get certificate(): Uint8Array | undefined {
    return this.output.certificate;
  }
}

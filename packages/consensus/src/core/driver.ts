import type { Block } from '../block';
import type { Evidence } from '../evidence';
import type { ProtocolInput, ProtocolOutput } from '../protocol';
import type { Rejection } from '../rejection';

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
    readonly evidence: readonly Evidence[];
  };
  /** Then, in order. */
  readonly actions: readonly Action<O>[];
  /** Inputs the protocol refused, with their codes: to be counted. */
  readonly rejections: readonly Rejection[];
}

/**
 * The one driver: steps `protocol` through `inputs` in order and splits what it asks into
 * `durable`, `actions` and `rejections`. Pure: the simulator and the replica both call it; the
 * simulator applies `durable` and enqueues the actions, the replica writes `durable` to disk in one
 * batch, then sends.
 */
export function drive<M, O extends { readonly type: string } = ProtocolOutput<M>>(protocol: { step(input: ProtocolInput<M>): O[] }, inputs: Iterable<ProtocolInput<M>>): Driven<O> {
  let safetyState: Uint8Array | undefined;
  let persists = 0;
  const commits: Block[] = [];
  const evidence: Evidence[] = [];
  const actions: Action<O>[] = [];
  const rejections: Rejection[] = [];
  for (const input of inputs) {
    for (const o of protocol.step(input)) {
      const out = o as unknown as ProtocolOutput<M>;
      switch (out.type) {
        case 'persist':
          safetyState = out.state;
          persists++;
          break;
        case 'commit':
          for (const b of out.blocks) commits.push(b);
          break;
        case 'evidence':
          evidence.push(out.evidence);
          break;
        case 'reject':
          rejections.push(out);
          break;
        default:
          actions.push(o as Action<O>);
      }
    }
  }
  return { durable: { safetyState, persists, commits, evidence }, actions, rejections };
}

// What the charts read. These are structural types: a @bftx/sim result, an @bftx/agents market
// result and bench rows fit them as they are, and viz depends on no other bftx package.

/** One line of a simulator trace (`SimulationResult.trace`, or a parsed trace.jsonl). */
export type TraceRecord = { readonly t: number; readonly ev?: unknown } & { readonly [key: string]: unknown };

/** A consensus run as the charts see it. */
export interface ConsensusRun {
  readonly protocol: string;
  /** Validators. */
  readonly n: number;
  /** Validators that ran a Byzantine strategy (marked on the charts). */
  readonly byzantine: readonly number[];
  readonly trace: readonly TraceRecord[];
}

/** A price level of an L2 book, best first. */
export interface DepthLevel {
  readonly price: number;
  readonly size: number;
}

export interface BookDepth {
  readonly bids: readonly DepthLevel[];
  readonly asks: readonly DepthLevel[];
}

/** One trade of a tape. */
export interface Print {
  readonly time: number;
  readonly price: number;
  readonly size: number;
}

/** An agent's result at the close. */
export interface AgentOutcome {
  readonly name: string;
  readonly kind: string;
  readonly pnl: number;
}

/** One (protocol, n) measurement of a protocol comparison. */
export interface ComparisonRow {
  readonly protocol: string;
  readonly n: number;
  /** Median finalization latency, ms. */
  readonly latencyP50: number;
  /** Messages sent per finalized block. */
  readonly messagesPerBlock: number;
}

export class VizInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VizInputError';
  }
}

/** Where a chart's time or view window starts and ends (inclusive). */
export interface Window {
  readonly from: number;
  readonly to: number;
}

export function checkWindow(w: Window, what: string): void {
  if (!(Number.isFinite(w.from) && Number.isFinite(w.to) && w.from <= w.to)) throw new VizInputError(`${what}: window must have finite from <= to (got ${w.from}..${w.to})`);
}

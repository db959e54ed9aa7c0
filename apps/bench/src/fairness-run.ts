// One run of the fairness matrix: @bftx/agents' runFairness for one (protocol, attack, defence,
// seed), reduced to the figures the matrix aggregates. Used in this process (--jobs 1) and by the
// worker processes (fairness-worker.ts).
import { runFairness } from '@bftx/agents';
import type { MatrixJob, RunFigures } from './fairness-matrix';
import { PROTOCOL_NAMES, protocolByName, type ProtocolName } from './protocols';

export interface RunSettings {
  /** The protocols' delta, ms (runFairness's default when absent). */
  readonly delta?: number;
  /** Virtual session length, ms (runFairness's default when absent). */
  readonly duration?: number;
}

export interface TimedFigures extends RunFigures {
  /** Whether the honest replicas' state roots agreed (a sanity check of the run, not a figure of the matrix). */
  readonly stateRootsAgree: boolean;
  /** Wall time of the run in its process, ms. */
  readonly wallMs: number;
}

/** The market's tick in quote minor units: runFairness's market quotes whole minor units (tick size 1), so one tick on a volume is that volume. */
export const TICK_MINOR_UNITS = 1;

export function runOne(job: MatrixJob, s: RunSettings): TimedFigures {
  if (!(PROTOCOL_NAMES as readonly string[]).includes(job.protocol)) throw new RangeError(`unknown protocol ${job.protocol}`);
  const t0 = performance.now();
  const r = runFairness({
    protocol: protocolByName(job.protocol as ProtocolName),
    attack: job.attack,
    defence: job.defence,
    seed: job.seed,
    ...(job.coalition ? { coalition: job.coalition } : {}),
    ...(s.delta !== undefined ? { delta: s.delta } : {}),
    ...(s.duration !== undefined ? { duration: s.duration } : {}),
  });
  return {
    attackerPnl: r.attackerPnl,
    victimSlippage: r.victimSlippage,
    censorshipDelays: r.censorshipDelays,
    fairnessViolations: r.fairnessViolations,
    latencyMs: r.latencyMs,
    finalizedOrders: r.finalizedOrders,
    oneTickOnAttackedVolume: r.attackedVolume * TICK_MINOR_UNITS,
    stateRootsAgree: r.stateRootsAgree,
    wallMs: performance.now() - t0,
  };
}

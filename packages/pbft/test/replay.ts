// Runs a regression case (plain data: the simulate() config less the protocol, the network as JSON)
// and checks what every run owes: no safety violation, no double signing, agreement, no evidence
// against an honest replica, bounded state, and liveness where the case says so. The lead's shared
// suite (@bftx/consensus/testing, checkOutcome) will take these files over as they are.
import type { ProtocolDefinition } from '@bftx/consensus';
import { networkFromJson, simulate, type NetworkJson, type SimulationResult } from '@bftx/sim';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RegressionCase {
  readonly item: string;
  readonly title: string;
  readonly config: RegressionConfig;
}

export interface RegressionConfig {
  readonly n: number;
  readonly seed: number;
  readonly network: NetworkJson;
  readonly timing: { readonly delta: number };
  readonly duration: number;
  readonly byzantine?: ReadonlyArray<{ readonly replica: number; readonly strategy: { readonly kind: string; readonly at?: number; readonly by?: number } }>;
  readonly restarts?: ReadonlyArray<{ readonly replica: number; readonly at: number; readonly downFor: number; readonly prefix?: number }>;
  readonly transactions?: { readonly every: number; readonly perBatch: number };
  /** From `from` on, every honest replica finalizes in every window of the stated bound, or at least once ('eventually'). */
  readonly live?: { readonly from: number; readonly mode: 'every-window' | 'eventually' };
  /** Largest footprint().retained allowed at the end: the footprint must then be reported. */
  readonly maxRetained?: number;
}

export function loadRegressions(dir = join(__dirname, 'regressions')): Array<{ file: string; case: RegressionCase }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, case: JSON.parse(readFileSync(join(dir, file), 'utf8')) as RegressionCase }));
}

export function runRegression<M>(protocol: ProtocolDefinition<M>, config: RegressionConfig): SimulationResult {
  const { live: _live, maxRetained: _max, network, byzantine, ...rest } = config;
  return simulate({ ...rest, ...(byzantine ? { byzantine: byzantine as never } : {}), protocol, network: networkFromJson(network), trace: false });
}

/** The first problem of the run, or undefined. */
export function regressionProblem<M>(protocol: ProtocolDefinition<M>, config: RegressionConfig): string | undefined {
  const r = runRegression(protocol, config);
  if (r.safetyViolation !== undefined) return `safety: ${r.safetyViolation}`;
  if (r.doubleSigns.length > 0) return `double signing: ${r.doubleSigns[0]}`;
  const honest = r.replicas.filter((x) => x.honest);
  for (const a of honest) for (const b of honest) for (let h = 0; h < Math.min(a.ledger.length, b.ledger.length); h++) if (a.ledger[h] !== b.ledger[h]) return `agreement: ${a.validator} and ${b.validator} at height ${h + 1}`;
  const accused = r.offenders.filter((o) => honest.some((x) => x.validator === o));
  if (accused.length > 0) return `evidence against honest replica(s) ${accused.join(', ')}`;
  if (config.maxRetained !== undefined) {
    for (const x of honest) {
      if (x.footprint === undefined) return `bounded state: replica ${x.validator} reports no footprint`;
      if (x.footprint.retained > config.maxRetained) return `bounded state: replica ${x.validator} retains ${x.footprint.retained} (bound ${config.maxRetained})`;
    }
  }
  if (config.live !== undefined) {
    const bound = protocol.livenessBound(config.timing, config.n);
    const { from, mode } = config.live;
    for (const x of honest) {
      if (mode === 'eventually') {
        if (!x.commitTimes.some((t) => t >= from)) return `liveness: replica ${x.validator} finalized nothing after ${from} ms`;
        continue;
      }
      for (let w = from; w + bound <= config.duration; w += bound) if (!x.commitTimes.some((t) => t >= w && t < w + bound)) return `liveness: replica ${x.validator} finalized nothing in [${w}, ${w + bound}) ms`;
    }
  }
  return undefined;
}

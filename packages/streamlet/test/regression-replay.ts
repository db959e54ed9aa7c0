// Replays the regression files of ./regressions (see regressions.test.ts) and checks a run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtocolDefinition } from '@bftx/consensus';
import { networkFromJson, simulate, type NetworkJson, type SimulationConfig, type SimulationResult } from '@bftx/sim';

export interface RegressionFile {
  readonly item: string;
  readonly title: string;
  readonly config: {
    readonly n: number;
    readonly seed: number;
    readonly network: NetworkJson;
    readonly timing: { readonly delta: number };
    readonly duration: number;
    readonly live?: { readonly from: number; readonly mode: 'every-window' | 'eventually' };
    readonly maxRetained?: number;
  } & Record<string, unknown>;
}

const dir = join(__dirname, 'regressions');
export const regressionFiles: readonly [string, RegressionFile][] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionFile]);

export function replay<M>(protocol: ProtocolDefinition<M>, file: RegressionFile): SimulationResult {
  const { live: _live, maxRetained: _max, network, ...rest } = file.config;
  // The rest are simulate() fields as they are (n, seed, timing, duration, byzantine, restarts...).
  const config = { ...rest, protocol, network: networkFromJson(network), trace: false } as unknown as SimulationConfig<M>;
  return simulate(config);
}

/** The first thing wrong with a replayed run, or undefined. */
export function problemOf<M>(protocol: ProtocolDefinition<M>, file: RegressionFile, r: SimulationResult): string | undefined {
  const { config } = file;
  if (r.safetyViolation !== undefined) return `safety: ${r.safetyViolation}`;
  if ((r.doubleSigns ?? []).length > 0) return `double signing: ${r.doubleSigns![0]}`;
  const honest = r.replicas.filter((x) => x.honest);
  const accused = r.offenders.filter((o) => honest.some((x) => x.validator === o));
  if (accused.length > 0) return `evidence against honest replica(s) ${accused.join(', ')}`;
  const maxRetained = config.maxRetained ?? 64 * config.n * config.n;
  for (const x of honest) {
    if (x.footprint === undefined) return `replica ${x.validator} reports no footprint`;
    if (x.footprint.retained > maxRetained) return `replica ${x.validator} retains ${x.footprint.retained} (bound ${maxRetained})`;
  }
  if (config.live !== undefined) {
    const bound = protocol.livenessBound(config.timing, config.n);
    for (const x of honest) {
      if (!x.commitTimes.some((t) => t >= config.live!.from)) return `liveness: replica ${x.validator} finalized nothing after ${config.live.from} ms`;
      if (config.live.mode !== 'every-window') continue;
      for (let w = config.live.from; w + bound <= config.duration; w += bound) {
        if (!x.commitTimes.some((t) => t >= w && t < w + bound)) return `liveness: replica ${x.validator} finalized nothing in [${w}, ${w + bound}) ms`;
      }
    }
  }
  return undefined;
}


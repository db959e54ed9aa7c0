import { Rng } from '@bftx/sim';
import { gaussian } from './random';

export interface FundamentalConfig {
  /** Long-run mean, in ticks (ABIDES RMSC04: 100,000). */
  readonly mean: number;
  /** Mean reversion per step (ABIDES: 1.67e-16 per ns; per second about 1.67e-7). */
  readonly kappa: number;
  /** Standard deviation of the per-step innovation, in ticks. */
  readonly sigma: number;
  /** Chance per step of a shock, and the shock's standard deviation. */
  readonly shockProbability: number;
  readonly shockSigma: number;
  /** Step length in ms (default 1,000). */
  readonly step?: number;
}

/**
 * A mean-reverting fundamental value (discrete Ornstein-Uhlenbeck with
 * occasional shocks), drawn once per step from its own seeded stream for the
 * whole session, so every agent sees the same path whenever it looks.
 */
export class Fundamental {
  private readonly path: Float64Array;
  private readonly step: number;

  constructor(
    readonly config: FundamentalConfig,
    private readonly open: number,
    close: number,
    seed: number,
  ) {
    this.step = config.step ?? 1_000;
    const steps = Math.ceil((close - open) / this.step) + 1;
    this.path = new Float64Array(steps);
    const rng = new Rng(seed).split('fundamental');
    let r = config.mean;
    for (let i = 0; i < steps; i++) {
      this.path[i] = r;
      r += config.kappa * (config.mean - r) + config.sigma * gaussian(rng);
      if (rng.chance(config.shockProbability)) r += config.shockSigma * gaussian(rng);
      if (r < 1) r = 1;
    }
  }

  /** The value at virtual time `t` (ms). */
  at(t: number): number {
    const i = Math.min(this.path.length - 1, Math.max(0, Math.floor((t - this.open) / this.step)));
    return this.path[i]!;
  }

  /** A noisy observation (what a value agent sees). */
  observe(t: number, rng: Rng, noise: number): number {
    return this.at(t) + noise * gaussian(rng);
  }
}

import { Rng } from '@bftx/sim';
import { gaussian } from './random';

/**
 * Stochastic volatility of news (Taylor's log-normal SV): the log of the innovation scale
 * follows an AR(1) per step, so calm and busy stretches of the day alternate. It makes
 * returns fat-tailed (a mixture of normals) and their size persistent (volatility clustering),
 * without making their sign predictable.
 */
export interface StochasticVolatility {
  /** Per-step AR(1) coefficient of log volatility, in [0, 1); 0.9994 per 1 s step is a half-life of about 19 minutes. */
  readonly persistence: number;
  /** Stationary standard deviation of log volatility (0.5: a calm-to-busy range of about e^2 between its 2.5% and 97.5% points). */
  readonly spread: number;
}

export interface FundamentalConfig {
  /** Long-run mean, in ticks (ABIDES RMSC04: 100,000). */
  readonly mean: number;
  /** Mean reversion per step (ABIDES: 1.67e-16 per ns; per second about 1.67e-7). */
  readonly kappa: number;
  /** Standard deviation of the per-step innovation, in ticks (its long-run root mean square when `volatility` is set). */
  readonly sigma: number;
  /** Chance per step of a shock, and the shock's standard deviation. */
  readonly shockProbability: number;
  readonly shockSigma: number;
  /** Step length in ms (default 1,000). */
  readonly step?: number;
  /** Makes `sigma` vary through the day (shocks keep their rate and size); absent: constant. */
  readonly volatility?: StochasticVolatility;
}

/**
 * A mean-reverting fundamental value (discrete Ornstein-Uhlenbeck with
 * occasional shocks, optionally with stochastic volatility), drawn once per step
 * from its own seeded stream for the whole session, so every agent sees the same
 * path whenever it looks.
 */
export class Fundamental {
  private readonly path: Float64Array;
  /** The volatility multiplier per step (1 throughout without `volatility`). */
  private readonly scale: Float64Array;
  private readonly step: number;

  constructor(
    readonly config: FundamentalConfig,
    private readonly open: number,
    close: number,
    seed: number,
  ) {
    this.step = config.step ?? 1_000;
    const sv = config.volatility;
    if (sv !== undefined && !(sv.persistence >= 0 && sv.persistence < 1 && sv.spread >= 0)) throw new RangeError('volatility: persistence must be in [0, 1) and spread non-negative');
    const steps = Math.ceil((close - open) / this.step) + 1;
    this.path = new Float64Array(steps);
    this.scale = new Float64Array(steps).fill(1);
    const rng = new Rng(seed).split('fundamental');
    // Split only when used: a split draws from the parent stream, and the path without volatility stays as it was.
    const volRng = sv === undefined ? rng : rng.split('volatility');
    // Log volatility h: stationary N(0, spread^2); exp(h - spread^2) has mean square 1, so sigma stays the root mean square innovation.
    const innovation = sv === undefined ? 0 : sv.spread * Math.sqrt(1 - sv.persistence * sv.persistence);
    let h = sv === undefined ? 0 : sv.spread * gaussian(volRng);
    let r = config.mean;
    for (let i = 0; i < steps; i++) {
      this.path[i] = r;
      let s = 1;
      if (sv !== undefined) {
        s = Math.exp(h - sv.spread * sv.spread);
        this.scale[i] = s;
        h = sv.persistence * h + innovation * gaussian(volRng);
      }
      r += config.kappa * (config.mean - r) + s * config.sigma * gaussian(rng);
      if (rng.chance(config.shockProbability)) r += config.shockSigma * gaussian(rng);
      if (r < 1) r = 1;
    }
  }

  /** The value at virtual time `t` (ms). */
  at(t: number): number {
    return this.path[this.index(t)]!;
  }

  /** The volatility multiplier at `t`: 1 without stochastic volatility, else exp(h - spread^2) (mean square 1). */
  volatilityAt(t: number): number {
    return this.scale[this.index(t)]!;
  }

  /** A noisy observation (what a value agent sees). */
  observe(t: number, rng: Rng, noise: number): number {
    return this.at(t) + noise * gaussian(rng);
  }

  private index(t: number): number {
    return Math.min(this.path.length - 1, Math.max(0, Math.floor((t - this.open) / this.step)));
  }
}

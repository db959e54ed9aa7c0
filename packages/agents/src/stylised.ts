/** Stylised facts of a mid-price series (Cont, 2001): heavy tails, no linear autocorrelation, volatility clustering. */
export interface StylisedFacts {
  /** Returns used per horizon (log returns of the mid sampled every horizon). */
  readonly samples: { readonly oneMinute: number; readonly fiveMinutes: number };
  /** Excess kurtosis of 1-minute and 5-minute log returns (0 for a normal distribution). */
  readonly excessKurtosis: { readonly oneMinute: number; readonly fiveMinutes: number };
  /** Lag-1 autocorrelation of 1-minute returns. */
  readonly returnAutocorrelationLag1: number;
  /** Autocorrelation of absolute 1-minute returns at lags 1 to 10. */
  readonly absReturnAutocorrelation: readonly number[];
}

/** Log returns of `mids` sampled every `every`-th value (undefined mids carry the previous one). */
export function logReturns(mids: ReadonlyArray<number | undefined>, every: number): number[] {
  const sampled: number[] = [];
  let last: number | undefined;
  for (let i = 0; i < mids.length; i++) {
    if (mids[i] !== undefined) last = mids[i];
    if (i % every === 0 && last !== undefined) sampled.push(last);
  }
  const out: number[] = [];
  for (let i = 1; i < sampled.length; i++) out.push(Math.log(sampled[i]! / sampled[i - 1]!));
  return out;
}

export function excessKurtosis(xs: readonly number[]): number {
  if (xs.length < 4) return NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d = (x - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= xs.length;
  m4 /= xs.length;
  return m2 === 0 ? NaN : m4 / (m2 * m2) - 3;
}

export function autocorrelation(xs: readonly number[], lag: number): number {
  if (xs.length <= lag + 1) return NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = xs[i]! - mean;
    den += d * d;
    if (i >= lag) num += d * (xs[i - lag]! - mean);
  }
  return den === 0 ? NaN : num / den;
}

/** The report for mids sampled every `intervalMs` (the published snapshots). */
export function stylisedFacts(mids: ReadonlyArray<number | undefined>, intervalMs: number): StylisedFacts {
  const perMinute = Math.max(1, Math.round(60_000 / intervalMs));
  const one = logReturns(mids, perMinute);
  const five = logReturns(mids, 5 * perMinute);
  const abs = one.map(Math.abs);
  return {
    samples: { oneMinute: one.length, fiveMinutes: five.length },
    excessKurtosis: { oneMinute: excessKurtosis(one), fiveMinutes: excessKurtosis(five) },
    returnAutocorrelationLag1: autocorrelation(one, 1),
    absReturnAutocorrelation: Array.from({ length: 10 }, (_, k) => autocorrelation(abs, k + 1)),
  };
}

import type { Rng } from '@bftx/sim';

/** A standard normal draw (Box-Muller; one of the pair is discarded to keep draws independent of call order). */
export function gaussian(rng: Rng): number {
  let u = rng.next();
  while (u === 0) u = rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An exponential draw with the given mean (Poisson arrivals), at least 1. */
export function exponential(rng: Rng, mean: number): number {
  let u = rng.next();
  while (u === 0) u = rng.next();
  return Math.max(1, Math.round(-mean * Math.log(u)));
}

import type { L2 } from '@bftx/matching-engine';
import type { Rng } from '@bftx/sim';
import type { Fundamental } from './fundamental';
import { exponential, gaussian } from './random';

/** Market data as the venue publishes it every data interval. */
export interface MarketSnapshot {
  readonly time: number;
  readonly bid: number | undefined;
  readonly ask: number | undefined;
  readonly bidSize: number;
  readonly askSize: number;
  /** (bid + ask) / 2 when both exist, else the last mid (undefined before the first). */
  readonly mid: number | undefined;
  readonly last: number | undefined;
  readonly l2: L2;
}

/** An order an agent sends (the loop adds the symbol and a client id). */
export interface AgentOrder {
  readonly side: 'buy' | 'sell';
  readonly size: number;
  /** Limit price in ticks; absent for a market order. */
  readonly price?: number;
  readonly tif?: 'GTC' | 'IOC' | 'FOK';
  readonly postOnly?: boolean;
}

/** What an agent sees and can do when it wakes. Market data arrives with the loop's latency. */
export interface AgentContext {
  readonly now: number;
  readonly open: number;
  readonly close: number;
  readonly rng: Rng;
  readonly tickSize: number;
  /** The newest snapshot published at or before now - latency. */
  readonly market: MarketSnapshot | undefined;
  /** Mids of up to `count` most recent visible snapshots, oldest first (snapshots without a mid skipped). */
  mids(count: number): number[];
  /** Base held minus base at the start (net position), and the account's live orders by client id. */
  readonly inventory: number;
  readonly openOrders: ReadonlyMap<number, unknown>;
  readonly fundamental: Fundamental;
  place(order: AgentOrder): void;
  cancel(clientId: number): void;
  cancelAll(): void;
}

export type AgentKind = 'market-maker' | 'random' | 'zero-intelligence' | 'momentum' | 'value' | 'noise';

export interface Agent {
  readonly name: string;
  readonly kind: AgentKind;
  /** First wake-up (virtual ms), or undefined to stay asleep. */
  start(rng: Rng, open: number, close: number): number | undefined;
  /** Acts; returns the next wake-up time, or undefined when done for the session. */
  wake(ctx: AgentContext): number | undefined;
}

const roundTo = (price: number, tick: number) => Math.max(tick, Math.round(price / tick) * tick);

/** Quotes around the mid, skewed against inventory and widened with volatility (in the spirit of ABIDES' adaptive market maker). */
export interface MarketMakerParams {
  /** Quoted spread in ticks when volatility is zero. */
  readonly targetSpread: number;
  readonly minSpread: number;
  readonly maxSpread: number;
  /** Net position beyond which the side that would add to it is not quoted. */
  readonly positionLimit: number;
  /** Ticks the quote centre moves against each unit of inventory. */
  readonly riskFactor: number;
  readonly orderSize: number;
  /** Levels quoted per side, `levelSpacing` ticks apart. */
  readonly levels: number;
  readonly levelSpacing: number;
  /** Mids used for volatility, and how many ticks of spread each unit of (mid-to-mid stdev in ticks) adds. */
  readonly volatilityWindow: number;
  readonly volatilityFactor: number;
  readonly interval: number;
}

export class MarketMaker implements Agent {
  readonly kind = 'market-maker';
  constructor(
    readonly name: string,
    readonly params: MarketMakerParams,
  ) {}

  start(rng: Rng, open: number): number {
    return open + rng.int(0, this.params.interval);
  }

  /** The spread (ticks) for the mids seen: target plus volatility, within [min, max]. */
  spreadFor(mids: readonly number[], tick: number): number {
    let vol = 0;
    if (mids.length > 2) {
      const diffs = mids.slice(1).map((m, i) => (m - mids[i]!) / tick);
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      vol = Math.sqrt(diffs.reduce((a, d) => a + (d - mean) * (d - mean), 0) / diffs.length);
    }
    const p = this.params;
    return Math.min(p.maxSpread, Math.max(p.minSpread, Math.round(p.targetSpread + p.volatilityFactor * vol)));
  }

  wake(ctx: AgentContext): number | undefined {
    const p = this.params;
    ctx.cancelAll();
    const mid = ctx.market?.mid ?? ctx.fundamental.at(ctx.now);
    const tick = ctx.tickSize;
    const spread = this.spreadFor(ctx.mids(p.volatilityWindow), tick);
    const centre = mid - p.riskFactor * ctx.inventory * tick;
    const bid = roundTo(centre - (spread * tick) / 2, tick);
    const ask = Math.max(bid + tick, roundTo(centre + (spread * tick) / 2, tick));
    const step = p.levelSpacing * tick;
    for (let l = 0; l < p.levels; l++) {
      if (ctx.inventory < p.positionLimit && bid - l * step > 0) ctx.place({ side: 'buy', price: bid - l * step, size: p.orderSize, postOnly: true });
      if (ctx.inventory > -p.positionLimit) ctx.place({ side: 'sell', price: ask + l * step, size: p.orderSize, postOnly: true });
    }
    return ctx.now + p.interval;
  }
}

/** Random limit and market orders at Poisson times. */
export interface RandomTraderParams {
  readonly meanWake: number;
  readonly maxSize: number;
  /** Chance an order is a market order. */
  readonly marketProbability: number;
  /** Limit prices within this many ticks of the mid. */
  readonly range: number;
}

export class RandomTrader implements Agent {
  readonly kind = 'random';
  constructor(
    readonly name: string,
    readonly params: RandomTraderParams,
  ) {}

  start(rng: Rng, open: number): number {
    return open + exponential(rng, this.params.meanWake);
  }

  wake(ctx: AgentContext): number | undefined {
    const p = this.params;
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const size = ctx.rng.int(1, p.maxSize);
    const mid = ctx.market?.mid;
    if (mid === undefined || ctx.rng.chance(p.marketProbability)) ctx.place({ side, size, tif: 'IOC' });
    else ctx.place({ side, size, price: roundTo(mid + ctx.rng.int(-p.range, p.range) * ctx.tickSize, ctx.tickSize) });
    return ctx.now + exponential(ctx.rng, p.meanWake);
  }
}

/** Gode-Sunder zero intelligence (constrained): a private value around the fundamental; buys below it, sells above it, uniformly. */
export interface ZeroIntelligenceParams {
  readonly meanWake: number;
  readonly maxSize: number;
  /** Stdev of the private value around the fundamental, and the width of the price draw, in ticks. */
  readonly valueNoise: number;
  readonly range: number;
}

export class ZeroIntelligence implements Agent {
  readonly kind = 'zero-intelligence';
  constructor(
    readonly name: string,
    readonly params: ZeroIntelligenceParams,
  ) {}

  start(rng: Rng, open: number): number {
    return open + exponential(rng, this.params.meanWake);
  }

  wake(ctx: AgentContext): number | undefined {
    const p = this.params;
    ctx.cancelAll();
    const value = ctx.fundamental.at(ctx.now) + p.valueNoise * ctx.tickSize * gaussian(ctx.rng);
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const offset = ctx.rng.int(0, p.range) * ctx.tickSize;
    const price = roundTo(side === 'buy' ? value - offset : value + offset, ctx.tickSize);
    ctx.place({ side, price, size: ctx.rng.int(1, p.maxSize) });
    return ctx.now + exponential(ctx.rng, p.meanWake);
  }
}

/** Short versus long moving average of the mid: buys when the short one is above, sells when below. */
export interface MomentumParams {
  readonly interval: number;
  readonly shortWindow: number;
  readonly longWindow: number;
  readonly minSize: number;
  readonly maxSize: number;
}

export class Momentum implements Agent {
  readonly kind = 'momentum';
  constructor(
    readonly name: string,
    readonly params: MomentumParams,
  ) {}

  start(rng: Rng, open: number): number {
    return open + rng.int(0, this.params.interval);
  }

  wake(ctx: AgentContext): number | undefined {
    const p = this.params;
    const mids = ctx.mids(p.longWindow);
    if (mids.length >= p.longWindow) {
      const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const short = avg(mids.slice(-p.shortWindow));
      const long = avg(mids);
      if (short !== long) ctx.place({ side: short > long ? 'buy' : 'sell', size: ctx.rng.int(p.minSize, p.maxSize), tif: 'IOC' });
    }
    return ctx.now + p.interval;
  }
}

/**
 * Trades toward its estimate of the fundamental (in the spirit of ABIDES' value agent):
 * a noisy observation, blended into a running estimate that reverts to the long-run
 * mean; buys below the estimate, sells above it, sometimes at the touch.
 */
export interface ValueParams {
  readonly meanWake: number;
  readonly observationNoise: number;
  /** Weight of a new observation in the estimate. */
  readonly learningRate: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** Chance of crossing the spread instead of posting inside it. */
  readonly aggression: number;
  /**
   * When set: once its estimate lies more than `edge` ticks beyond the far touch, it takes
   * liquidity with a limit at its estimate less `edge` (walking the book up to that price,
   * the rest resting there) instead of posting inside the spread. Absent: it only posts or
   * crosses at the touch.
   */
  readonly edge?: number;
}

export class Value implements Agent {
  readonly kind = 'value';
  private estimate: number | undefined;
  constructor(
    readonly name: string,
    readonly params: ValueParams,
  ) {}

  start(rng: Rng, open: number): number {
    return open + exponential(rng, this.params.meanWake);
  }

  wake(ctx: AgentContext): number | undefined {
    const p = this.params;
    const obs = ctx.fundamental.observe(ctx.now, ctx.rng, p.observationNoise);
    this.estimate = this.estimate === undefined ? obs : this.estimate + p.learningRate * (obs - this.estimate);
    ctx.cancelAll();
    const m = ctx.market;
    const est = this.estimate;
    const tick = ctx.tickSize;
    const bid = m?.bid;
    const ask = m?.ask;
    const size = ctx.rng.int(p.minSize, p.maxSize);
    if (bid === undefined || ask === undefined) {
      ctx.place({ side: ctx.rng.chance(0.5) ? 'buy' : 'sell', price: roundTo(est, tick), size });
    } else if (p.edge !== undefined && est - p.edge * tick > ask) {
      ctx.place({ side: 'buy', price: roundTo(est - p.edge * tick, tick), size });
    } else if (p.edge !== undefined && est + p.edge * tick < bid) {
      ctx.place({ side: 'sell', price: roundTo(est + p.edge * tick, tick), size });
    } else if (est > (bid + ask) / 2) {
      const price = ctx.rng.chance(p.aggression) ? ask : roundTo(bid + ctx.rng.next() * Math.max(0, Math.min(est, ask) - bid), tick);
      ctx.place({ side: 'buy', price, size });
    } else {
      const price = ctx.rng.chance(p.aggression) ? bid : roundTo(ask - ctx.rng.next() * Math.max(0, ask - Math.max(est, bid)), tick);
      ctx.place({ side: 'sell', price, size });
    }
    return ctx.now + exponential(ctx.rng, p.meanWake);
  }
}

/** Wakes once at a uniform time in the session and trades at the touch (ABIDES' noise agent). */
export interface NoiseParams {
  readonly minSize: number;
  readonly maxSize: number;
}

export class Noise implements Agent {
  readonly kind = 'noise';
  constructor(
    readonly name: string,
    readonly params: NoiseParams,
  ) {}

  start(rng: Rng, open: number, close: number): number {
    return rng.int(open, close - 1);
  }

  wake(ctx: AgentContext): undefined {
    const side = ctx.rng.chance(0.5) ? 'buy' : 'sell';
    const m = ctx.market;
    const price = side === 'buy' ? m?.ask : m?.bid;
    const size = ctx.rng.int(this.params.minSize, this.params.maxSize);
    if (price !== undefined) ctx.place({ side, price, size });
    return undefined;
  }
}

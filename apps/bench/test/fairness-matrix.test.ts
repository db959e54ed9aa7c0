// The fairness matrix's pure parts on synthetic run figures (no simulation).
import { Rng } from '@bftx/sim';
import { ATTACKS, DEFENCES, aggregateCell, bootstrapMean, checkGoals, jobKey, matrixJobs, quantile, renderCells, runMatrix, summaryJson, type Cell, type MatrixJob, type RunFigures } from '../src/fairness-matrix';

/** Synthetic figures: under leader order an attack gains 50 + seed over the baseline; under 'both' it gains nothing. */
function synthetic(j: MatrixJob): RunFigures {
  const gain = j.attack === 'none' ? 0 : j.defence === 'leader' ? 50 + j.seed : j.defence === 'both' ? (j.seed % 2 === 0 ? 3 : -3) : 10 * (j.seed % 3) - 5;
  // A client-only coalition earns the same but 20 under leader order (what its leader's powers add there).
  const client = j.coalition === 'client' && j.defence === 'leader' ? -20 : 0;
  return {
    attackerPnl: 1000 + 7 * j.seed + gain + client,
    victimSlippage: j.attack === 'none' ? 20 : j.defence === 'leader' ? 80 : 21,
    censorshipDelays: j.attack === 'censor' && j.defence === 'leader' ? [1, 5, 9] : [0, 1, 1, 2],
    fairnessViolations: j.defence === 'leader' && j.attack !== 'none' ? 2 : 0,
    latencyMs: j.defence === 'leader' ? [20, 30, 40] : [25, 35, 45],
    finalizedOrders: j.defence === 'leader' ? 100 : 95,
    oneTickOnAttackedVolume: 40n,
  };
}
const goals = { messageDelayMs: 10 };

describe('quantile (linear between order statistics)', () => {
  test('known values and bounds', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([10, 20, 30], 0.25)).toBe(15);
    expect(quantile([7], 0.99)).toBe(7);
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });
});

describe('bootstrapMean', () => {
  const data = (seed: number, n: number, mu: number) => {
    const rng = new Rng(seed);
    // Sum of 4 uniforms: roughly normal, sd = sqrt(4/12) * 20.
    return Array.from({ length: n }, () => mu + 20 * (rng.next() + rng.next() + rng.next() + rng.next() - 2));
  };

  test('seeded: the same values and seed give the same interval, another seed another one', () => {
    const xs = data(1, 20, 5);
    expect(bootstrapMean(xs, { seed: 9 })).toEqual(bootstrapMean(xs, { seed: 9 }));
    expect(bootstrapMean(xs, { seed: 9 }).lo).not.toBe(bootstrapMean(xs, { seed: 10 }).lo);
  });

  test('the mean is the sample mean, inside an interval inside the data range; constant data give a point', () => {
    const xs = data(2, 20, -3);
    const b = bootstrapMean(xs, { seed: 1 });
    expect(b.mean).toBeCloseTo(xs.reduce((a, x) => a + x, 0) / xs.length, 10);
    expect(b.lo).toBeLessThan(b.mean);
    expect(b.hi).toBeGreaterThan(b.mean);
    expect(b.lo).toBeGreaterThanOrEqual(Math.min(...xs));
    expect(b.hi).toBeLessThanOrEqual(Math.max(...xs));
    expect(bootstrapMean([4, 4, 4], { seed: 1 })).toEqual({ mean: 4, lo: 4, hi: 4 });
  });

  test('width agrees with the normal approximation on a large sample', () => {
    const xs = data(3, 400, 0);
    const m = xs.reduce((a, x) => a + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
    const b = bootstrapMean(xs, { seed: 4 });
    const normal = (2 * 1.96 * sd) / Math.sqrt(xs.length);
    expect((b.hi - b.lo) / normal).toBeGreaterThan(0.85);
    expect((b.hi - b.lo) / normal).toBeLessThan(1.15);
  });

  test('covers the true mean in about 95% of samples of 20 (seeded, so the count is fixed)', () => {
    let covered = 0;
    const trials = 150;
    for (let t = 0; t < trials; t++) {
      const b = bootstrapMean(data(100 + t, 20, 7), { seed: t, resamples: 600 });
      if (b.lo <= 7 && 7 <= b.hi) covered++;
    }
    // The percentile bootstrap undercovers a little at n = 20.
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.99);
  });

  test('refuses what has no interval', () => {
    expect(() => bootstrapMean([], { seed: 1 })).toThrow(RangeError);
    expect(() => bootstrapMean([1, NaN], { seed: 1 })).toThrow(/not a finite number/);
    expect(() => bootstrapMean([1, 2], { seed: 1, level: 1 })).toThrow(RangeError);
    expect(() => bootstrapMean([1, 2], { seed: 1, resamples: 0 })).toThrow(RangeError);
  });
});

describe('matrixJobs', () => {
  test('every run once: 7 attacks x 4 defences plus a baseline per defence, 20 seeds, the undefended baseline first', () => {
    const seeds = Array.from({ length: 20 }, (_, k) => k + 1);
    const jobs = matrixJobs(['hotstuff'], seeds);
    expect(jobs).toHaveLength((ATTACKS.length + 1) * DEFENCES.length * 20);
    expect(new Set(jobs.map(jobKey)).size).toBe(jobs.length);
    expect(jobs.slice(0, 20).every((j) => j.attack === 'none' && j.defence === 'leader')).toBe(true);
    expect(matrixJobs(['pbft', 'streamlet'], [1, 2])).toHaveLength(2 * 8 * 4 * 2);
  });

  test('a reduced matrix still has the undefended baseline', () => {
    const jobs = matrixJobs(['hotstuff'], [1], ['sandwich'], ['both']);
    expect(jobs.map(jobKey).sort()).toEqual(['hotstuff|none|both|1', 'hotstuff|none|leader|1', 'hotstuff|sandwich|both|1']);
  });
});

describe('powers: each attack also by a client-only coalition', () => {
  test('the jobs, the cell\'s split of the value, and the JSON field', async () => {
    const seeds = [1, 2, 3, 4];
    const jobs = matrixJobs(['hotstuff'], seeds, ATTACKS, DEFENCES, true);
    expect(jobs).toHaveLength((2 * ATTACKS.length + 1) * DEFENCES.length * seeds.length);
    expect(jobs.filter((j) => j.coalition === 'client').every((j) => j.attack !== 'none')).toBe(true);
    expect(new Set(jobs.map(jobKey)).size).toBe(jobs.length);
    const leader = aggregateCell('hotstuff', 'sandwich', 'leader', seeds, synthetic, goals, { resamples: 200, powers: true });
    expect(leader.evPowersPerSeed).toEqual([20, 20, 20, 20]);
    expect(leader.evPowers).toEqual({ mean: 20, lo: 20, hi: 20 });
    const both = aggregateCell('hotstuff', 'sandwich', 'both', seeds, synthetic, goals, { resamples: 200, powers: true });
    expect(both.evPowers).toEqual({ mean: 0, lo: 0, hi: 0 });
    expect(aggregateCell('hotstuff', 'sandwich', 'both', seeds, synthetic, goals, { resamples: 200 }).evPowers).toBeUndefined();
    const cells = await runMatrix({ protocols: ['hotstuff'], seeds, attacks: ['sandwich'], defences: ['leader', 'both'], execute: async (j) => synthetic(j), concurrency: 2, goals, resamples: 200, powers: true });
    const json = JSON.parse(summaryJson(cells));
    expect(json.cells.map((c: { evPowers: unknown }) => c.evPowers)).toEqual([{ mean: 20, lo: 20, hi: 20 }, { mean: 0, lo: 0, hi: 0 }]);
    expect(renderCells(cells)).toContain('powers: 20 [20, 20]');
    expect(JSON.parse(summaryJson([both].map((c) => ({ ...c, evPowers: undefined })))).cells[0]).not.toHaveProperty('evPowers');
  });
});

describe('aggregateCell', () => {
  const seeds = [1, 2, 3, 4, 5, 6];

  test('EV is the attack run minus the baseline of the same seed and defence', () => {
    const c = aggregateCell('hotstuff', 'sandwich', 'leader', seeds, synthetic, goals, { resamples: 500 });
    expect(c.evPerSeed).toEqual(seeds.map((s) => 50 + s));
    expect(c.ev.mean).toBeCloseTo(53.5, 10);
    expect(c.ev.lo).toBeGreaterThan(50);
    expect(c.ev.hi).toBeLessThan(57);
    expect(c.victimSlippage).toBe(80);
    expect(c.victimSlippageExcess).toBe(60);
    expect(c.fairnessViolations).toBe(2 * seeds.length);
    expect(c.latencyP50Ms).toBe(30);
    expect(c.throughputRatio).toBe(1);
    expect(c.evBound).toBe(40);
    expect(c.goals.find((g) => g.name === 'attack is real')).toMatchObject({ applies: true, pass: true });
    expect(c.pass).toBe(true);
  });

  test('censorship delays are pooled over seeds (p99 and max); throughput against the undefended and the unattacked runs', () => {
    const leader = aggregateCell('hotstuff', 'censor', 'leader', seeds, synthetic, goals, { resamples: 200 });
    expect(leader.censorshipDelayMax).toBe(9);
    expect(leader.censorshipDelayP99).toBeCloseTo(9, 0);
    const both = aggregateCell('hotstuff', 'censor', 'both', seeds, synthetic, goals, { resamples: 200 });
    expect(both.censorshipDelayMax).toBe(2);
    expect(both.throughputRatio).toBeCloseTo(0.95, 10);
    expect(both.throughputRatioVsNoAttack).toBe(1);
    expect(both.latencyP50Ms).toBe(35);
    expect(both.undefendedLatencyP50Ms).toBe(30);
  });

  test('under both defences: an interval around 0 below one tick of attacked volume passes', () => {
    const c = aggregateCell('hotstuff', 'front-run', 'both', seeds, synthetic, goals, { resamples: 500 });
    expect(c.ev.mean).toBe(0);
    expect(c.ev.lo).toBeLessThan(0);
    expect(c.ev.hi).toBeGreaterThan(0);
    expect(c.goals.filter((g) => g.applies).map((g) => [g.name, g.pass])).toEqual([
      ['no value extracted', true],
      ['censorship <= 2 blocks', true],
      ['latency p50 <= undefended + 1 delay', true],
      ['throughput >= 0.9 undefended', true],
    ]);
    expect(c.pass).toBe(true);
  });

  test('a missing run is an error, not a zero', () => {
    expect(() => aggregateCell('hotstuff', 'sandwich', 'leader', [1], (j) => (j.attack === 'none' ? undefined : synthetic(j)), goals)).toThrow(/no run for hotstuff\|none\|leader\|1/);
  });
});

describe('checkGoals', () => {
  const base = aggregateCell('hotstuff', 'delay', 'ordering', [1, 2, 3], synthetic, goals, { resamples: 200 });
  const goal = (c: Omit<Cell, 'goals' | 'pass'>, name: string) => checkGoals(c, goals).find((g) => g.name.startsWith(name))!;

  test('each goal fails when its figure crosses the bound', () => {
    expect(goal({ ...base, defence: 'leader', ev: { mean: 5, lo: -1, hi: 9 } }, 'attack is real').pass).toBe(false);
    expect(goal({ ...base, defence: 'both', ev: { mean: 5, lo: 1, hi: 9 } }, 'no value extracted').pass).toBe(false);
    // Censoring is real by delay even when it gains nothing.
    expect(goal({ ...base, attack: 'censor', defence: 'leader', ev: { mean: 0, lo: 0, hi: 0 }, censorshipDelayMax: 3 }, 'attack is real').pass).toBe(true);
    expect(goal({ ...base, attack: 'censor', defence: 'leader', ev: { mean: 0, lo: 0, hi: 0 }, censorshipDelayMax: 2 }, 'attack is real').pass).toBe(false);
    expect(goal({ ...base, defence: 'both', ev: { mean: 50, lo: -1, hi: 90 }, evBound: 40 }, 'no value extracted').pass).toBe(false);
    expect(goal({ ...base, censorshipDelayMax: 3 }, 'censorship').pass).toBe(false);
    expect(goal({ ...base, latencyP50Ms: base.undefendedLatencyP50Ms + 11 }, 'latency').pass).toBe(false);
    expect(goal({ ...base, latencyP50Ms: base.undefendedLatencyP50Ms + 10 }, 'latency').pass).toBe(true);
    expect(goal({ ...base, throughputRatio: 0.89 }, 'throughput').pass).toBe(false);
  });

  test('which goals concern which defence', () => {
    const applies = (defence: Cell['defence']) => checkGoals({ ...base, defence }, goals).filter((g) => g.applies).map((g) => g.name.split(' ')[0]);
    expect(applies('leader')).toEqual(['attack']);
    expect(applies('ordering')).toEqual(['censorship', 'latency', 'throughput']);
    expect(applies('batch')).toEqual(['latency', 'throughput']);
    expect(applies('both')).toEqual(['no', 'censorship', 'latency', 'throughput']);
  });

  test('an unknown bound is said, and only the interval is judged', () => {
    const g = goal({ ...base, defence: 'both', ev: { mean: 1, lo: -1, hi: 3 }, evBound: undefined }, 'no value extracted');
    expect(g.pass).toBe(true);
    expect(g.detail).toMatch(/bound unknown/);
  });
});

describe('runMatrix', () => {
  test('runs each job once, reports every cell once, and the result does not depend on concurrency', async () => {
    const summaries: string[] = [];
    for (const concurrency of [1, 5]) {
      const executed: string[] = [];
      const told: string[] = [];
      const cells = await runMatrix({
        protocols: ['hotstuff'],
        seeds: [1, 2, 3],
        // Finish out of order: later jobs sometimes first.
        execute: async (j) => {
          executed.push(jobKey(j));
          await new Promise((r) => setImmediate(r));
          if (j.seed === 1) await new Promise((r) => setImmediate(r));
          return synthetic(j);
        },
        concurrency,
        goals,
        resamples: 200,
        onCell: (c, done, total) => {
          told.push(`${c.attack}|${c.defence}`);
          expect(total).toBe(28);
          expect(done).toBe(told.length);
        },
      });
      expect(executed).toHaveLength(8 * 4 * 3);
      expect(new Set(executed).size).toBe(executed.length);
      expect(new Set(told).size).toBe(28);
      expect(cells.map((c) => `${c.attack}|${c.defence}`)).toEqual(ATTACKS.flatMap((a) => DEFENCES.map((d) => `${a}|${d}`)));
      summaries.push(summaryJson(cells));
    }
    expect(summaries[0]).toBe(summaries[1]);
  });

  test('a failed run fails the matrix', async () => {
    await expect(runMatrix({ protocols: ['pbft'], seeds: [1], attacks: ['censor'], defences: ['leader'], execute: async (j) => (j.attack === 'censor' ? Promise.reject(new Error('boom')) : synthetic(j)), concurrency: 2, goals })).rejects.toThrow('boom');
  });
});

describe('output', () => {
  const cells = ATTACKS.slice(0, 2).flatMap((a) => DEFENCES.map((d) => aggregateCell('streamlet', a, d, [1, 2, 3], synthetic, goals, { resamples: 200 })));

  test('the JSON summary has the fields issue 18 names, in its order', () => {
    const line = summaryJson(cells, { seeds: 3 });
    expect(line).not.toContain('\n');
    const s = JSON.parse(line);
    expect(Object.keys(s)).toEqual(['suite', 'cells', 'seeds']);
    expect(s.suite).toBe('fairness');
    expect(s.cells).toHaveLength(8);
    expect(Object.keys(s.cells[0])).toEqual(['attack', 'defence', 'ev', 'censorshipDelayMax', 'fairnessViolations', 'latencyP50Ms', 'throughputRatio', 'protocol', 'pass']);
    expect(Object.keys(s.cells[0].ev)).toEqual(['mean', 'lo', 'hi']);
    expect(s.cells[0]).toMatchObject({ attack: 'front-run', defence: 'leader', censorshipDelayMax: 2, fairnessViolations: 6, latencyP50Ms: 30, throughputRatio: 1, protocol: 'streamlet', pass: true });
    expect(s.cells[0].ev.mean).toBe(52);
  });

  test('the table names every cell and marks goals', () => {
    const t = renderCells(cells);
    for (const a of ['front-run', 'sandwich']) expect(t).toContain(a);
    expect(t).toContain('pass attack is real');
    expect(t).toContain('pass no value extracted');
    expect(renderCells([...cells, { ...cells[0]!, protocol: 'pbft' }])).toContain('protocol');
  });
});
